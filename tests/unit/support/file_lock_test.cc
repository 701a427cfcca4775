// SPDX-License-Identifier: GPL-2.0-only
// FileLock: the flock that keeps concurrent kpatch-gen runs from filling one cache entry at once.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include "common/temp_dir.h"
#include "support/file.h"

namespace kpg {
namespace {

TEST(support_FileLock, ASecondLockOnTheSameFileWaitsUntilTheFirstIsReleased) {
  test::TempDir dir;
  std::string path = dir.file("entry.lock");
  {
    auto first = FileLock::try_acquire(path);
    ASSERT_TRUE(first) << first.error().message;
    // Another open file description (another process, or this one opening it again) is refused.
    auto second = FileLock::try_acquire(path);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("held by another process"), std::string::npos) << second.error().message;
    EXPECT_EQ(second.error().loc.file, path); // the message names the lock file
  }
  auto again = FileLock::try_acquire(path);
  EXPECT_TRUE(again) << again.error().message;
}

TEST(support_FileLock, AcquireBlocksAndSaysWhyWhileAnotherProcessHoldsIt) {
  test::TempDir dir;
  std::string path = dir.file("entry.lock");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto held = FileLock::try_acquire(path);
    char c = held ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::usleep(300 * 1000);
    ::_exit(0); // exiting releases the lock
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  int waits = 0;
  auto lock = FileLock::acquire(path, [&] { ++waits; });
  EXPECT_TRUE(lock) << lock.error().message;
  EXPECT_EQ(waits, 1); // it had to wait, and said so once
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(support_FileLock, AMovedLockIsReleasedOnce) {
  test::TempDir dir;
  std::string path = dir.file("entry.lock");
  {
    auto a = FileLock::try_acquire(path);
    ASSERT_TRUE(a);
    FileLock moved = std::move(*a);
    EXPECT_FALSE(FileLock::try_acquire(path)); // still held through `moved`
  }
  EXPECT_TRUE(FileLock::try_acquire(path));
}

TEST(support_FileLock, AnUnwritableDirectoryIsAnErrorNamingTheFile) {
  auto l = FileLock::try_acquire("/nonexistent-kpg-dir/entry.lock");
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().loc.file, "/nonexistent-kpg-dir/entry.lock");
}

} // namespace
} // namespace kpg
