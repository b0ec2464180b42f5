// chapter11_train: train a Llama 4 model from scratch on a text file, in C++, on the CPU.
//
//   chapter11_train --config bible.json --tokenizer tokenizer.model
//                   --train train.txt --validation validation.txt --out DIR [--steps N ...]
//   chapter11_train --resume DIR --out DIR                    continue a run where it stopped
//   chapter11_train --model DIR --tokens 1,2,3 --dump-gradients OUT.safetensors
//
// Chapter 11's README explains what happens inside; program.cpp reads the options, this file
// runs them in one process (chapter 14's chapter14_train runs them on MPI ranks).
#include "chapters/11_training/program.hpp"

int main(int argc, char** argv) {
  llama4::SingleProcessCommunicator one_process;
  return llama4::run_training_program(argc, argv, one_process);
}
