#include "common/program/run_main.hpp"

#include <filesystem>
#include <iostream>
#include <new>
#include <string_view>

#include "common/program/keep_freed_memory.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

int report(std::string_view message, int status) {
  std::cout.flush();
  std::cerr << "error: " << printable(message) << std::endl;
  return status;
}

}  // namespace

int run_main(const std::function<int()>& body, int error_status) {
  keep_freed_memory_for_reuse();
  try {
    return body();
  } catch (const Error& error) {
    return report(error.what(), error_status);
  } catch (const std::bad_alloc&) {
    // The allocations that can be large (tensors, KV caches) name themselves in a llama4::Error;
    // this is any other one.
    return report("out of memory", error_status);
  } catch (const std::filesystem::filesystem_error& error) {
    return report(error.what(), error_status);
  } catch (const std::exception& error) {
    return report(std::string(error.what()) + " (an unexpected exception: please report it)",
                  error_status);
  } catch (...) {
    return report("an unexpected exception of unknown type (please report it)", error_status);
  }
}

}  // namespace llama4
