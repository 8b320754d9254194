// io::atomic_file: the target changes only on commit, no temporary survives a
// failure or an abandoned writer, concurrent writers of one path never share
// a temporary, and errors name the path and the OS reason.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "kplug/io/atomic_file.hpp"
#include "support/temp_dir.hpp"

namespace {

using kplug::io::atomic_file;
using kplug_test::read_all;
using kplug_test::temp_dir;

// The names in `dir`, sorted.
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFile, ReplacesTheTargetOnlyOnCommit) {
  temp_dir dir;
  const std::string path = dir.write("out.txt", "old contents");
  atomic_file f(path);
  f.write("new ");
  f.write(std::string(3 << 20, 'x'));  // more than the buffer: goes to the file directly
  f.write("tail");
  EXPECT_EQ(read_all(path), "old contents");
  EXPECT_EQ(entries(dir.path()).size(), 2u) << "target and one temporary";
  f.commit();
  const std::string now = read_all(path);
  EXPECT_EQ(now.size(), 4u + (3u << 20) + 4u);
  EXPECT_TRUE(now.starts_with("new xxx"));
  EXPECT_TRUE(now.ends_with("xxtail"));
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, OverwriteReplacesBytesAlreadyWritten) {
  temp_dir dir;
  const std::string path = dir.file("h.bin");
  atomic_file f(path);
  f.write("????body");
  f.overwrite(0, "HEAD");
  f.write("!");
  KPLUG_EXPECT_ERROR(f.overwrite(7, "xyz"), path, "of a file of 9 bytes");
  f.commit();
  EXPECT_EQ(read_all(path), "HEADbody!");
}

TEST(AtomicFile, DestroyedWithoutCommitLeavesNothing) {
  temp_dir dir;
  const std::string path = dir.write("keep.txt", "previous");
  {
    atomic_file f(path);
    f.write("abandoned");
  }
  EXPECT_EQ(read_all(path), "previous");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"keep.txt"});
}

TEST(AtomicFile, AThrowMidWriteLeavesTheTargetAndNoTemporary) {
  temp_dir dir;
  const std::string path = dir.write("t.txt", "before");
  EXPECT_THROW(kplug::io::write_file_atomically(path, "test write",
                                                [](auto& put) {
                                                  put("partial", 7);
                                                  throw std::runtime_error("producer failed");
                                                }),
               std::runtime_error);
  EXPECT_EQ(read_all(path), "before");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"t.txt"});
  kplug::io::write_file_atomically(path, "after");
  EXPECT_EQ(read_all(path), "after");
}

TEST(AtomicFile, TwoWritersOfOnePathGetDistinctTemporaries) {
  temp_dir dir;
  const std::string path = dir.file("same");
  atomic_file a(path), b(path);
  EXPECT_NE(a.temporary_path(), b.temporary_path());
  EXPECT_TRUE(a.temporary_path().starts_with(path + ".kplug-tmp-"));
  a.write("from a");
  b.write("from b");
  a.commit();
  EXPECT_EQ(read_all(path), "from a");
  b.commit();  // the last commit wins, whole
  EXPECT_EQ(read_all(path), "from b");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"same"});
}

TEST(AtomicFile, TemporaryTakesTheUsualModeNotMkstemps0600) {
  temp_dir dir;
  const mode_t mask = ::umask(022);
  const std::string path = dir.file("m");
  kplug::io::write_file_atomically(path, "x");
  ::umask(mask);
  struct ::stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(AtomicFile, ErrorsNameThePathAndTheReason) {
  temp_dir dir;
  // A regular file used as a directory fails even for root.
  const std::string blocker = dir.write("plain", "a file");
  const std::string bad = blocker + "/out.txt";
  KPLUG_EXPECT_ERROR(atomic_file(bad, "write report"), "write report", bad, "cannot create a temporary file",
                     "Not a directory");
  // Renaming over a directory fails after the temporary was written: it is removed.
  std::filesystem::create_directory(dir.file("sub"));
  {
    atomic_file f(dir.file("sub"));
    f.write("x");
    KPLUG_EXPECT_ERROR(f.commit(), dir.file("sub"), "rename failed", "Is a directory");
    KPLUG_EXPECT_ERROR(f.write("more"), "already committed, or abandoned");
  }
  EXPECT_EQ(entries(dir.path()), (std::vector<std::string>{"plain", "sub"}));
  EXPECT_EQ(read_all(blocker), "a file");
}

TEST(AtomicFile, CommitTwiceIsAnError) {
  temp_dir dir;
  atomic_file f(dir.file("once"));
  f.commit();
  KPLUG_EXPECT_ERROR(f.commit(), dir.file("once"), "already committed");
  EXPECT_EQ(read_all(dir.file("once")), "");
}

}  // namespace
