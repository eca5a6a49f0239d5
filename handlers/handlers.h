/* handlers/handlers.h — every Docker API handler, by group; handlers/routes.c maps each to its
 * method and path. A handler answers exactly once (see handlers/api.h). */
#pragma once

#include "exec/attach.h"
#include "handlers/api.h"

/* system.c */
void system_ping(struct api_req *a);
void system_version(struct api_req *a);
void system_info(struct api_req *a);

/* system_events.c */
void system_events(struct api_req *a);

/* images.c */
void images_list(struct api_req *a);
void images_prune(struct api_req *a);
void images_inspect(struct api_req *a);
void images_history(struct api_req *a);
void images_tag(struct api_req *a);
void images_delete(struct api_req *a);

/* distribution.c: pull (and import, which shares its route), push, login */
void images_create(struct api_req *a);
void images_push(struct api_req *a);
void auth_login(struct api_req *a);

/* archive.c: docker load, docker save, docker import's body */
void images_load(struct api_req *a);
void images_save_many(struct api_req *a);
void images_save(struct api_req *a);
void image_import(struct api_req *a, const char *src);

/* containers.c (containers_summary: one container in the list's shape, for /system/df too) */
void containers_create(struct api_req *a);
void containers_list(struct api_req *a);
void containers_prune(struct api_req *a);
void containers_inspect(struct api_req *a);
void containers_rename(struct api_req *a);
struct container;
json_t *containers_summary(const struct container *c);

/* lifecycle.c */
void containers_start(struct api_req *a);
void containers_stop(struct api_req *a);
void containers_restart(struct api_req *a);
void containers_kill(struct api_req *a);
void containers_wait(struct api_req *a);
void containers_pause(struct api_req *a);
void containers_unpause(struct api_req *a);
void containers_resize(struct api_req *a);
void containers_attach(struct api_req *a);
void containers_delete(struct api_req *a);
/* A hijacked connection lent to exec/ (attach, exec start): its ctx is the http_conn. */
extern const struct attach_link_ops handlers_hijacked_link;

/* logs.c */
void containers_logs(struct api_req *a);

/* exec.c */
void exec_create(struct api_req *a);
void exec_start(struct api_req *a);
void exec_resize(struct api_req *a);
void exec_inspect(struct api_req *a);

/* volumes.c */
void volumes_list(struct api_req *a);
void volumes_create(struct api_req *a);
void volumes_inspect(struct api_req *a);
void volumes_update(struct api_req *a);
void volumes_delete(struct api_req *a);
void volumes_prune(struct api_req *a);

/* df.c: docker system df */
void system_df(struct api_req *a);

/* networks.c: the predefined networks (bridge, host, none) */
void networks_list(struct api_req *a);
void networks_inspect(struct api_req *a);
void networks_create(struct api_req *a);
void networks_delete(struct api_req *a);
void networks_connect(struct api_req *a);
void networks_disconnect(struct api_req *a);

/* prune_empty.c: the prunes of what berth has none of yet (networks, build cache), which
 * docker system prune asks for */
void networks_prune(struct api_req *a);
void build_prune(struct api_req *a);
/* ctrarchive.c: docker cp, export, diff */
void containers_archive_head(struct api_req *a);
void containers_archive_get(struct api_req *a);
void containers_archive_put(struct api_req *a);
void containers_export(struct api_req *a);
void containers_changes(struct api_req *a);

/* commit.c */
void images_commit(struct api_req *a);
/* stats.c, top.c, update.c */
void containers_stats(struct api_req *a);
void containers_top(struct api_req *a);
void containers_update(struct api_req *a);
