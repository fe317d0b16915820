// A small result type: either a value or an error, never an exception.
//
// Every module of kvm-run names its errors with its own enum class (or a small struct around one)
// and returns Result<T, ModuleError>.  Operations without a value return Status<E>, whose
// success value is kOk.
#pragma once

#include <utility>
#include <variant>

namespace vmm {

template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Result(E error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, E> state_;
};

inline constexpr std::monostate kOk{};

template <typename E>
using Status = Result<std::monostate, E>;

}  // namespace vmm
