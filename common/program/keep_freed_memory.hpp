// Keep freed memory for reuse: called once by run_main (run_main.hpp), so by every program.
//
// Programs allocate the same large buffers again and again: a training step its logits (B·T ×
// vocabulary floats: 100 MB for 16 × 256 tokens and 6,144 ids), every layer of a forward pass its
// activations. glibc serves blocks over 128 KiB with mmap and returns them to the kernel when they
// are freed (and trims the heap once enough lies free at its top), so the next allocation is new
// memory: the kernel faults in and zeroes every 4 KiB page on first touch. On this project's
// 2-core machine that was a third of the training time (4,100 training tokens/s with this call,
// 2,300 without, on chapters/11_training/configs/bible.json) and 14 % of a 384-token prefill of
// the 1b synthetic model (page faults and memset, in a profile). Keeping freed memory in the heap
// lets the next step, or the next layer, reuse it warm.
#pragma once

namespace llama4 {

// Does nothing where the C library is not glibc.
void keep_freed_memory_for_reuse();

}  // namespace llama4
