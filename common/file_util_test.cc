#include "common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace temoin {
namespace {

namespace fs = std::filesystem;

class FileUtilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("file_util_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Distinctive bytes, longer than one overwrite chunk (1 MiB) so the loop is exercised.
  static std::string Original() {
    std::string text;
    while (text.size() < (3u << 20) + 7) text += "synthetic photo bytes 0123456789 ";
    return text;
  }

  static ino_t Inode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0);
    return st.st_ino;
  }

  // All bytes of an open descriptor's file, from offset 0.
  static std::string ReadAll(int fd) {
    struct stat st {};
    EXPECT_EQ(::fstat(fd, &st), 0);
    std::string out(static_cast<size_t>(st.st_size), '\0');
    EXPECT_EQ(::pread(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
    return out;
  }

  // How many 4 KiB blocks of `after` still equal `before`'s.
  static int BlocksUnchanged(const std::string& before, const std::string& after) {
    int same = 0;
    for (size_t i = 0; i < before.size(); i += 4096) {
      if (before.compare(i, 4096, after, i, 4096) == 0) ++same;
    }
    return same;
  }

  std::string dir_;
};

TEST_F(FileUtilTest, OverwriteInPlaceKeepsTheInodeAndReplacesEveryBlock) {
  const std::string path = dir_ + "/photo.jpg";
  const std::string original = Original();
  ASSERT_TRUE(WriteFileDurably(path, original, 0600).ok());
  const ino_t before = Inode(path);
  ASSERT_TRUE(OverwriteInPlace(path).ok());
  EXPECT_EQ(Inode(path), before);
  absl::StatusOr<std::string> after = ReadFileToString(path);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), original.size());
  EXPECT_EQ(BlocksUnchanged(original, *after), 0);
}

TEST_F(FileUtilTest, ShredFileOverwritesTheInodeItUnlinks) {
  const std::string path = dir_ + "/photo.jpg";
  const std::string original = Original();
  ASSERT_TRUE(WriteFileDurably(path, original, 0600).ok());
  // A descriptor keeps the inode alive after the unlink: what it reads is what the
  // freed blocks hold.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(ShredFile(path).ok());
  EXPECT_FALSE(fs::exists(path));
  std::string left = ReadAll(fd);
  ::close(fd);
  ASSERT_EQ(left.size(), original.size());
  EXPECT_EQ(BlocksUnchanged(original, left), 0);
  EXPECT_EQ(left.find("synthetic photo bytes"), std::string::npos);
}

TEST_F(FileUtilTest, ShredFileOfAMissingFileIsFine) {
  EXPECT_TRUE(ShredFile(dir_ + "/never-there").ok());
}

TEST_F(FileUtilTest, ShredFileRefusesAHardLinkedFileAndChangesNothing) {
  const std::string path = dir_ + "/photo.jpg";
  ASSERT_TRUE(WriteFileDurably(path, "kept under another name", 0600).ok());
  ASSERT_EQ(::link(path.c_str(), (dir_ + "/backup.jpg").c_str()), 0);
  absl::Status status = ShredFile(path);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(ReadFileToString(dir_ + "/backup.jpg").value_or(""), "kept under another name");
  EXPECT_TRUE(fs::exists(path));
}

TEST_F(FileUtilTest, ShredFileUnlinksASymbolicLinkWithoutTouchingItsTarget) {
  const std::string target = dir_ + "/target.jpg";
  ASSERT_TRUE(WriteFileDurably(target, "not named by the caller", 0600).ok());
  ASSERT_EQ(::symlink(target.c_str(), (dir_ + "/link.jpg").c_str()), 0);
  ASSERT_TRUE(ShredFile(dir_ + "/link.jpg").ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir_ + "/link.jpg")));
  EXPECT_EQ(ReadFileToString(target).value_or(""), "not named by the caller");
  EXPECT_EQ(OverwriteInPlace(dir_ + "/nothing").code(), absl::StatusCode::kNotFound);
}

TEST_F(FileUtilTest, WriteInPlaceDurablyWritesAtTheOffsetOfTheSameInode) {
  const std::string path = dir_ + "/pages";
  ASSERT_TRUE(WriteFileDurably(path, std::string(8, 'a'), 0600).ok());
  const ino_t before = Inode(path);
  ASSERT_TRUE(WriteInPlaceDurably(path, 4, "bbbbbb").ok());
  EXPECT_EQ(Inode(path), before);
  EXPECT_EQ(ReadFileToString(path).value_or(""), "aaaabbbbbb");
  EXPECT_EQ(WriteInPlaceDurably(dir_ + "/missing", 0, "x").code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace temoin
