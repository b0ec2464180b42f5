// The trainers' progress line (chapters 11 and 13):
//
//   step 120/500 [=====                   ] loss 2.412 | 5310 tok/s | elapsed 0:01:32 | ETA 0:04:51
//
// On a terminal the line rewrites itself every step; written to a pipe or a file, it is printed as
// a new line 100 times over the run, so a log stays readable.
#pragma once

#include <cstdint>
#include <string>

namespace llama4 {

// "H:MM:SS".
std::string clock_time(double seconds);

// step: steps done (1-based) of `steps`; elapsed: seconds since this run (of steps_this_run
// steps) started, from which the ETA is extrapolated.
void show_training_progress(std::int64_t step, std::int64_t steps, double loss,
                            double tokens_per_second, double elapsed, std::int64_t steps_this_run);

}  // namespace llama4
