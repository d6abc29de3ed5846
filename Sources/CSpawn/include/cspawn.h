#ifndef CSPAWN_H
#define CSPAWN_H
#include <spawn.h>

/// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), which Swift's Glibc module
/// does not declare (it is a GNU extension): the child closes every descriptor >= from.
int cspawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// pipe2(fds, O_CLOEXEC): a pipe neither end of which another child inherits.
int cspawn_pipe_cloexec(int fds[2]);

#endif
