#ifndef TEMOIN_TESTS_CRASH_FAULT_FS_H_
#define TEMOIN_TESTS_CRASH_FAULT_FS_H_

// A RocksDB FileSystem for crash and disk-full tests (after RocksDB's own
// FaultInjectionTestFS, which is not installed by Debian):
//   - Power loss: it remembers, per file, how many bytes were last synced, and which
//     files were created or renamed since their directory was last fsynced. After
//     Deactivate() (or after a given number of further write operations) every write
//     fails, as if the machine had lost power at that instant; SimulatePowerLoss() then
//     truncates each file to its synced size, deletes files created since the last
//     directory sync, and undoes renames that no directory sync made durable.
//   - Disk full: while SetNoSpace(true), every append, sync and file creation fails
//     with IOStatus::NoSpace (ENOSPC), and nothing is written.
// Thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace temoin::crash {

class FaultFs : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultFs(const std::shared_ptr<rocksdb::FileSystem>& base);
  static std::shared_ptr<FaultFs> Default();
  const char* Name() const override { return "TemoinFaultFs"; }

  // The power goes off now: every later write operation fails until SimulatePowerLoss().
  void Deactivate();
  // The power goes off after `operations` more write operations (appends, syncs, file
  // creations, renames, deletions, directory syncs); the one that crosses fails.
  void DeactivateAfter(int64_t operations);
  bool active() const;
  // Call with the database closed: drops what a power loss would have dropped, then
  // turns the power back on. kInternal if a file cannot be restored.
  absl::Status SimulatePowerLoss();
  // Unsynced bytes dropped and files removed by the last SimulatePowerLoss().
  int64_t dropped_bytes() const;
  int64_t dropped_files() const;

  void SetNoSpace(bool no_space);
  int64_t no_space_errors() const;

  // Internal, for the file and directory wrappers.
  rocksdb::IOStatus BeforeWrite(bool consumes_space);
  void Appended(const std::string& path, uint64_t bytes);
  void Synced(const std::string& path);
  void DirectorySynced(const std::string& dir);

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& dst,
                             const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;

 private:
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
  };
  struct PendingRename {
    std::string src, dst;
    bool dst_existed = false;
    std::string dst_previous;  // dst's bytes before the rename
  };
  void TrackNewFileLocked(const std::string& path, uint64_t size);

  mutable std::mutex mu_;
  bool active_ = true;
  int64_t operations_left_ = -1;  // -1: no scheduled power cut
  bool no_space_ = false;
  int64_t no_space_errors_ = 0;
  int64_t dropped_bytes_ = 0, dropped_files_ = 0;
  std::map<std::string, FileState> files_;
  std::map<std::string, std::set<std::string>> created_since_dir_sync_;  // by directory
  std::vector<PendingRename> renames_since_dir_sync_;
};

}  // namespace temoin::crash

#endif  // TEMOIN_TESTS_CRASH_FAULT_FS_H_
