// Status: how code under kernels/ reports failure. Kernels never print or exit (CONVENTIONS 13);
// harnesses turn a Status into a skipped benchmark or a one-line CLI error.
#pragma once
#include <string>
#include <utility>

namespace perfcal {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller's problem or config is malformed
  kUnsupported,      // valid, but this variant cannot run it (ISA missing, shape not handled)
  kOutOfMemory,      // allocation refused or would overflow
  kInternal,         // a library underneath failed (oneDNN, MPI, CUDA)
};

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return {}; }
  static Status Invalid(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status OutOfMemory(std::string m) { return {StatusCode::kOutOfMemory, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Returns early from the enclosing function when `expr` yields a non-ok Status.
#define PERFCAL_RETURN_IF_ERROR(expr)          \
  do {                                         \
    ::perfcal::Status perfcal_status_ = (expr); \
    if (!perfcal_status_.ok()) return perfcal_status_; \
  } while (0)

}  // namespace perfcal
