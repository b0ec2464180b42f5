// Chapter 09: the whole Llama 4 model on a GPU, AMD or NVIDIA, from one HIP source.
//
//   build/bin/chapter09_hip                                   the golden tiny model, checked
//   build/bin/chapter09_hip --model DIR --prompt "..."         a real checkpoint (if it fits the
//   GPU) build/bin/chapter09_hip --synthetic 1b -n 64 --device 1    speed on a scaled-down Llama 4,
//   GPU 1 build/bin/chapter09_hip --help                            everything else
//
// The program is chapter 08's (chapters/08_model/program.cpp): the same options, modes and output.
// What is specific to this chapter is the session it runs: the model's weights are uploaded to the
// GPU once, and every forward pass runs there (gpu/gpu_model.hpp).
#include <iostream>

#include "chapters/08_model/program.hpp"
#include "common/tensors/error.hpp"
#include "gpu/device.hpp"
#include "gpu/gpu_session.hpp"

int main(int argc, char** argv) {
  // Before the model is loaded (a synthetic Scout layer takes a while to build): is there a GPU?
  const auto check_the_gpu = [](const llama4::ProgramOptions& options) {
    const llama4::gpu::DeviceInfo device = llama4::gpu::probe(options.device);
    if (!device.available) llama4::fail(llama4::gpu::describe(device));  // "no usable GPU: <why>"
  };
  const auto on_the_gpu = [](llama4::Model model, std::int64_t context_length,
                             const llama4::ProgramOptions& options) {
    auto session = std::make_unique<llama4::gpu::GpuSession>(model, context_length, options.device);
    std::cerr << "running on " << session->device() << "\n";
    return session;  // `model` (the CPU copy of the weights) is released here
  };
  return llama4::run_model_program(argc, argv, on_the_gpu, /*gpu=*/true, check_the_gpu);
}
