#include "common/model/inference_session.hpp"

#include <omp.h>

namespace llama4 {

CpuSession::CpuSession(Model model, std::int64_t context_length)
    : model_(std::move(model)), cache_(model_.make_cache(context_length)) {}

Tensor CpuSession::forward(std::span<const std::int32_t> tokens, LogitRows rows,
                           ActivationRecorder* recorder) {
  return model_.forward(tokens, cache_, rows, recorder);
}

std::string CpuSession::device() const {
  return "CPU (" + std::to_string(omp_get_max_threads()) + " threads)";
}

}  // namespace llama4
