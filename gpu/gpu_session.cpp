#include "gpu/gpu_session.hpp"

namespace llama4::gpu {

GpuSession::GpuSession(const Model& model, std::int64_t context_length, int device)
    : model_(model, context_length, device) {}

}  // namespace llama4::gpu
