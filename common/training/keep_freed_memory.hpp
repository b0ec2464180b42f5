// Keep freed memory for the next training step.
//
// Every training step allocates the same large buffers again (the logits alone are B·T ×
// vocabulary floats: 100 MB for 16 × 256 tokens and 6,144 ids). glibc serves blocks over 128 KiB
// with mmap and returns them to the kernel when they are freed, so each step would fault in (and
// the kernel zero) every page afresh: on this project's 2-core machine that was a third of the
// training time (4,100 training tokens/s with this call, 2,300 without, on
// chapters/11_training/configs/bible.json). Keeping freed memory in the heap lets the next step
// reuse it warm. Call once, at the start of a program that trains.
#pragma once

namespace llama4 {

void keep_freed_memory_for_reuse();

}  // namespace llama4
