/* fs/statefile.h — a state file owned by the reactor thread and kept durable by pool jobs:
 * each change asks for a write; writes never overlap and coalesce, and each caller is told
 * once the file holds its change (atomic replace, fsync, as fs_write_atomic). */
#pragma once

#include <stdint.h>

#include "core/err.h"
#include "core/pool.h"

struct statefile;

/* snapshot() runs on the reactor thread and returns the file's full new content (heap). */
struct statefile *statefile_new(struct pool *pool, const char *path,
                                char *(*snapshot)(void *arg, size_t *len), void *arg);
/* Ask for the current state to reach the disk; done(ctx, res, err) runs on the reactor once
 * it has (res 0) or the write failed. done may be NULL. */
void statefile_save(struct statefile *sf,
                    void (*done)(void *ctx, int res, const struct berth_err *err), void *ctx);
/* Blocking write of the current state (start-up and shutdown only). */
int statefile_save_now(struct statefile *sf, struct berth_err **err);
/* The file is about to go (its owner is removed): done(ctx) runs once no write is in flight
 * or queued, at once when idle. Saves asked after this write nothing (their done runs at once). */
void statefile_retire(struct statefile *sf, void (*done)(void *ctx), void *ctx);
void statefile_free(struct statefile *sf);
