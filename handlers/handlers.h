/* handlers/handlers.h — every Docker API handler, by group; handlers/routes.c maps each to its
 * method and path. A handler answers exactly once (see handlers/api.h). */
#pragma once

#include "handlers/api.h"

/* system.c */
void system_ping(struct api_req *a);
void system_version(struct api_req *a);
void system_info(struct api_req *a);

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

/* containers.c */
void containers_create(struct api_req *a);
void containers_list(struct api_req *a);
void containers_prune(struct api_req *a);
void containers_inspect(struct api_req *a);
void containers_rename(struct api_req *a);

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

/* logs.c */
void containers_logs(struct api_req *a);

/* stats.c, top.c, update.c */
void containers_stats(struct api_req *a);
void containers_top(struct api_req *a);
void containers_update(struct api_req *a);
