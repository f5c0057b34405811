#ifndef TEMOIN_COMMON_STATUS_MACROS_H_
#define TEMOIN_COMMON_STATUS_MACROS_H_

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Debian's abseil 20220623 predates ABSL_RETURN_IF_ERROR.
#define TEMOIN_RETURN_IF_ERROR(expr)                                  \
  do {                                                                \
    if (absl::Status temoin_status_ = (expr); !temoin_status_.ok()) { \
      return temoin_status_;                                          \
    }                                                                 \
  } while (0)

#define TEMOIN_CONCAT_INNER_(a, b) a##b
#define TEMOIN_CONCAT_(a, b) TEMOIN_CONCAT_INNER_(a, b)

// TEMOIN_ASSIGN_OR_RETURN(auto x, F()) : on error returns the status of F().
#define TEMOIN_ASSIGN_OR_RETURN(lhs, expr) \
  TEMOIN_ASSIGN_OR_RETURN_IMPL_(TEMOIN_CONCAT_(temoin_statusor_, __LINE__), lhs, expr)
#define TEMOIN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(*tmp)

// Programmer errors abort, as libsodium's sodium_misuse() does; they never return.
#define TEMOIN_CHECK(cond)                                                                    \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "temoin: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

#endif  // TEMOIN_COMMON_STATUS_MACROS_H_
