#include "tests/crash/fault_fs.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace temoin::crash {
namespace {

using rocksdb::IOStatus;

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string Normalized(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

class File : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  File(std::unique_ptr<rocksdb::FSWritableFile> file, std::string path, FaultFs* fs)
      : FSWritableFileOwnerWrapper(std::move(file)), path_(std::move(path)), fs_(fs) {}

  IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                  rocksdb::IODebugContext* dbg) override {
    IOStatus s = fs_->BeforeWrite(/*consumes_space=*/true);
    if (s.ok()) s = target()->Append(data, o, dbg);
    if (s.ok()) fs_->Appended(path_, data.size());
    return s;
  }
  IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                  const rocksdb::DataVerificationInfo&, rocksdb::IODebugContext* dbg) override {
    return Append(data, o, dbg);
  }
  IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t, const rocksdb::IOOptions&,
                            rocksdb::IODebugContext*) override {
    return IOStatus::NotSupported("positioned append");  // RocksDB falls back to Append
  }
  IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t, const rocksdb::IOOptions&,
                            const rocksdb::DataVerificationInfo&,
                            rocksdb::IODebugContext*) override {
    return IOStatus::NotSupported("positioned append");
  }
  IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& o,
                    rocksdb::IODebugContext* dbg) override {
    IOStatus s = fs_->BeforeWrite(false);
    return s.ok() ? target()->Truncate(size, o, dbg) : s;
  }
  IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    IOStatus s = fs_->BeforeWrite(true);
    if (s.ok()) s = target()->Sync(o, dbg);
    if (s.ok()) fs_->Synced(path_);
    return s;
  }
  IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    IOStatus s = fs_->BeforeWrite(true);
    if (s.ok()) s = target()->Fsync(o, dbg);
    if (s.ok()) fs_->Synced(path_);
    return s;
  }
  IOStatus RangeSync(uint64_t, uint64_t, const rocksdb::IOOptions&,
                     rocksdb::IODebugContext*) override {
    return IOStatus::OK();  // a hint: it promises nothing durable
  }
  IOStatus Close(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    // Closing is not syncing: unsynced bytes stay droppable.
    return target()->Close(o, dbg);
  }

 private:
  const std::string path_;
  FaultFs* const fs_;
};

class Directory : public rocksdb::FSDirectoryWrapper {
 public:
  Directory(std::unique_ptr<rocksdb::FSDirectory> dir, std::string path, FaultFs* fs)
      : FSDirectoryWrapper(std::move(dir)), path_(std::move(path)), fs_(fs) {}
  IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    IOStatus s = fs_->BeforeWrite(false);
    if (s.ok()) s = FSDirectoryWrapper::Fsync(o, dbg);
    if (s.ok()) fs_->DirectorySynced(path_);
    return s;
  }
  IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& options) override {
    IOStatus s = fs_->BeforeWrite(false);
    if (s.ok()) s = FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, options);
    if (s.ok()) fs_->DirectorySynced(path_);
    return s;
  }

 private:
  const std::string path_;
  FaultFs* const fs_;
};

uint64_t SizeOnDisk(const std::string& path) {
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

}  // namespace

FaultFs::FaultFs(const std::shared_ptr<rocksdb::FileSystem>& base) : FileSystemWrapper(base) {}

std::shared_ptr<FaultFs> FaultFs::Default() {
  return std::make_shared<FaultFs>(rocksdb::FileSystem::Default());
}

void FaultFs::Deactivate() {
  std::lock_guard<std::mutex> lock(mu_);
  active_ = false;
}

void FaultFs::DeactivateAfter(int64_t operations) {
  std::lock_guard<std::mutex> lock(mu_);
  operations_left_ = operations;
}

bool FaultFs::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_;
}

void FaultFs::SetNoSpace(bool no_space) {
  std::lock_guard<std::mutex> lock(mu_);
  no_space_ = no_space;
}

int64_t FaultFs::no_space_errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return no_space_errors_;
}

int64_t FaultFs::dropped_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_bytes_;
}

int64_t FaultFs::dropped_files() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_files_;
}

IOStatus FaultFs::BeforeWrite(bool consumes_space) {
  std::lock_guard<std::mutex> lock(mu_);
  if (active_ && operations_left_ >= 0 && operations_left_-- == 0) active_ = false;
  if (!active_) return IOStatus::IOError("simulated power loss");
  if (no_space_ && consumes_space) {
    ++no_space_errors_;
    return IOStatus::NoSpace("simulated disk full");
  }
  return IOStatus::OK();
}

void FaultFs::Appended(const std::string& path, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[path].size += bytes;
}

void FaultFs::Synced(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  FileState& f = files_[path];
  f.synced = f.size;
}

void FaultFs::DirectorySynced(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string d = Normalized(dir);
  created_since_dir_sync_.erase(d);
  std::vector<PendingRename> kept;
  for (PendingRename& r : renames_since_dir_sync_) {
    if (DirOf(r.dst) != d) kept.push_back(std::move(r));
  }
  renames_since_dir_sync_ = std::move(kept);
}

void FaultFs::TrackNewFileLocked(const std::string& path, uint64_t size) {
  files_[path] = FileState{size, size};
  created_since_dir_sync_[DirOf(path)].insert(path);
}

IOStatus FaultFs::NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                  std::unique_ptr<rocksdb::FSWritableFile>* r,
                                  rocksdb::IODebugContext* dbg) {
  IOStatus s = BeforeWrite(true);
  if (!s.ok()) return s;
  std::unique_ptr<rocksdb::FSWritableFile> file;
  s = target()->NewWritableFile(f, o, &file, dbg);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    TrackNewFileLocked(f, 0);
  }
  *r = std::make_unique<File>(std::move(file), f, this);
  return s;
}

IOStatus FaultFs::ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                     std::unique_ptr<rocksdb::FSWritableFile>* r,
                                     rocksdb::IODebugContext* dbg) {
  IOStatus s = BeforeWrite(true);
  if (!s.ok()) return s;
  const bool existed = std::filesystem::exists(f);
  std::unique_ptr<rocksdb::FSWritableFile> file;
  s = target()->ReopenWritableFile(f, o, &file, dbg);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!existed) {
      TrackNewFileLocked(f, 0);
    } else if (!files_.count(f)) {
      const uint64_t size = SizeOnDisk(f);  // from before this run: durable
      files_[f] = FileState{size, size};
    }
  }
  *r = std::make_unique<File>(std::move(file), f, this);
  return s;
}

IOStatus FaultFs::ReuseWritableFile(const std::string& f, const std::string& old,
                                    const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) {
  // Not used with recycle_log_file_num = 0 (the default); modelled as rename + create.
  IOStatus s = RenameFile(old, f, rocksdb::IOOptions(), dbg);
  if (!s.ok()) return s;
  return NewWritableFile(f, o, r, dbg);
}

IOStatus FaultFs::NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                               std::unique_ptr<rocksdb::FSDirectory>* r,
                               rocksdb::IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSDirectory> dir;
  IOStatus s = target()->NewDirectory(name, o, &dir, dbg);
  if (s.ok()) *r = std::make_unique<Directory>(std::move(dir), Normalized(name), this);
  return s;
}

IOStatus FaultFs::DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) {
  IOStatus s = BeforeWrite(false);
  if (s.ok()) s = target()->DeleteFile(f, o, dbg);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(f);
    created_since_dir_sync_[DirOf(f)].erase(f);
  }
  return s;
}

IOStatus FaultFs::RenameFile(const std::string& src, const std::string& dst,
                             const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) {
  IOStatus s = BeforeWrite(false);
  if (!s.ok()) return s;
  PendingRename pending{src, dst, std::filesystem::exists(dst), ""};
  if (pending.dst_existed) {
    std::ifstream in(dst, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    pending.dst_previous = bytes.str();
  }
  s = target()->RenameFile(src, dst, o, dbg);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(src);
  FileState state = it != files_.end() ? it->second : FileState{SizeOnDisk(dst), SizeOnDisk(dst)};
  if (it != files_.end()) files_.erase(it);
  files_[dst] = state;
  const bool src_was_new = created_since_dir_sync_[DirOf(src)].erase(src) > 0;
  if (src_was_new) {
    created_since_dir_sync_[DirOf(dst)].insert(dst);  // never durable under either name
  } else {
    renames_since_dir_sync_.push_back(std::move(pending));
  }
  return s;
}

IOStatus FaultFs::LinkFile(const std::string& src, const std::string& dst,
                           const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) {
  IOStatus s = BeforeWrite(false);
  if (s.ok()) s = target()->LinkFile(src, dst, o, dbg);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[dst] = files_.count(src) ? files_[src] : FileState{SizeOnDisk(dst), SizeOnDisk(dst)};
    created_since_dir_sync_[DirOf(dst)].insert(dst);
  }
  return s;
}

absl::Status FaultFs::SimulatePowerLoss() {
  std::lock_guard<std::mutex> lock(mu_);
  dropped_bytes_ = dropped_files_ = 0;
  std::error_code ec;
  // Renames no directory sync made durable are undone, newest first.
  for (auto r = renames_since_dir_sync_.rbegin(); r != renames_since_dir_sync_.rend(); ++r) {
    std::filesystem::rename(r->dst, r->src, ec);
    if (ec) return absl::InternalError(absl::StrCat("undo rename ", r->dst, ": ", ec.message()));
    if (files_.count(r->dst)) {
      files_[r->src] = files_[r->dst];
      files_.erase(r->dst);
    }
    if (r->dst_existed) {
      std::ofstream out(r->dst, std::ios::binary | std::ios::trunc);
      out << r->dst_previous;
      files_[r->dst] = FileState{r->dst_previous.size(), r->dst_previous.size()};
    }
  }
  renames_since_dir_sync_.clear();
  // Files whose creation no directory sync made durable vanish.
  for (auto& [dir, paths] : created_since_dir_sync_) {
    for (const std::string& path : paths) {
      if (std::filesystem::remove(path, ec)) ++dropped_files_;
      files_.erase(path);
    }
  }
  created_since_dir_sync_.clear();
  // Everything else loses its unsynced tail.
  for (auto& [path, state] : files_) {
    const uint64_t on_disk = SizeOnDisk(path);
    if (on_disk > state.synced && std::filesystem::exists(path)) {
      std::filesystem::resize_file(path, state.synced, ec);
      if (ec) return absl::InternalError(absl::StrCat("truncate ", path, ": ", ec.message()));
      dropped_bytes_ += static_cast<int64_t>(on_disk - state.synced);
    }
    state.size = state.synced;
  }
  active_ = true;
  operations_left_ = -1;
  return absl::OkStatus();
}

}  // namespace temoin::crash
