// The machine's ceilings, measured in the same process as the benchmark that is judged by them.
//
// A figure like "12 GB/s" means nothing alone; "12 GB/s = 80% of what this machine's memory can
// deliver" does. Each is measured once (about a second) the first time it is asked for, and the
// benchmarks' ratios divide by that first figure.
#pragma once

namespace llama4::bench {

// Read bandwidth with every core summing a 1 GiB array (bytes per second).
double read_bandwidth_bytes_per_second();

// The same measurement again, now. On a shared virtual machine the bandwidth can halve for minutes
// (the development VM switched between ~35 and ~75 GB/s; we do not know why); measuring once more
// at the end of a run shows whether the ceiling held while the benchmarks ran (BM_CeilingsAgain).
double measure_read_bandwidth_again_bytes_per_second();

// f32 fused multiply-add throughput with every core, on data in registers (FLOP per second).
double peak_flops_per_second();

}  // namespace llama4::bench
