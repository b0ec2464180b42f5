// Keeping freed memory for reuse: a measured 15-25% of prefill on the CPU.
//
// Every layer of a forward pass allocates its activations afresh (Tensor::zeros) and frees them
// when the layer is done. With glibc's defaults a block of a few MiB, freed at the top of the
// heap, is handed back to the kernel (the heap is trimmed once more than twice the mmap threshold
// lies free at its top), so the next layer's block is new memory: the kernel faults in and zeroes
// every 4 KiB page on first touch. On the 1b synthetic model's 128-token prefill this page
// faulting took about a sixth of the time. Raising the trim threshold keeps the pages with the
// process; raising the mmap threshold serves blocks up to 256 MiB from the heap, where freed
// blocks are reused, instead of from fresh mappings that are unmapped on free.
#pragma once

namespace llama4 {

// Called once by run_main before a program's body. Does nothing where the C library is not glibc.
void keep_freed_memory_for_reuse();

}  // namespace llama4
