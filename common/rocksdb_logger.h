#ifndef TEMOIN_COMMON_ROCKSDB_LOGGER_H_
#define TEMOIN_COMMON_ROCKSDB_LOGGER_H_

// Where RocksDB's own diagnostic log goes, for the server's store and the device vault.
//
// RocksDB's default is a LOG file (and LOG.old.* copies) inside the database directory.
// Two reasons not to keep it:
// - A full disk took the server down: once one write to that file fails, Debian's
//   RocksDB build aborts the process on the next line it logs (an assert in
//   WritableFileWriter), and the first failing write logs a line. tests/e2e/
//   disk_full_test caught it; a full disk must be a refused write, never a crash.
// - On a device, LOG is a plaintext timeline of every open, flush and compaction: when
//   the monitor used the app, kept beside the vault for whoever searches the phone.
// So the server keeps warnings and errors in its own log (stderr), and devices keep
// nothing. Neither logs keys or values; RocksDB never writes them to its info log.

#include <cstdarg>
#include <cstdio>
#include <memory>

#include "rocksdb/env.h"

namespace temoin {

class RocksDbStderrLogger : public rocksdb::Logger {
 public:
  RocksDbStderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    std::fprintf(stderr, "rocksdb: %s\n", line);
  }
};

class RocksDbNullLogger : public rocksdb::Logger {
 public:
  RocksDbNullLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::HEADER_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

}  // namespace temoin

#endif  // TEMOIN_COMMON_ROCKSDB_LOGGER_H_
