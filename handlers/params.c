/* handlers/params.c — the table of every query parameter of the routes berth serves (see
 * params.h), and the check api_serve runs before a route's handler.
 *
 * One row per parameter of the v1.50 spec (tests/data/api-params.txt, made by
 * tools/spec-fields; tests/handlers/test_params.c fails when a route berth serves has a
 * parameter without a row, or a row names no parameter of the spec). A REFUSED parameter that a
 * request sets (anything but absent, "", "0", "no", "false", "none") is a 400 naming it; the
 * docker CLI sends them only when asked (docker load's quiet, sent always, is honoured). Only
 * the REFUSED rows are compared at each request, and only for the route they name. */
#include "handlers/params.h"

#include <errno.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/macros.h"

#define H FIELD_HONOURED
#define R FIELD_REFUSED
#define N FIELD_NOOP

const struct param_row params_table[] = {
    /* ---- system ---- (GET/HEAD /_ping, GET /version, GET /info: no parameters) */
    {"GET", "/events", "since", H, "docker events --since",
     "replayed from the event log, which outlives restarts"},
    {"GET", "/events", "until", H, "docker events --until", NULL},
    {"GET", "/events", "filters", H, "docker events --filter", "its keys are checked by the route"},
    {"GET", "/system/df", "type", H, NULL, "container, image, volume, build-cache (always empty)"},
    /* ---- images ---- */
    {"GET", "/images/json", "all", H, "docker images -a", NULL},
    {"GET", "/images/json", "filters", H, "docker images --filter",
     "its keys are checked by the route"},
    {"GET", "/images/json", "shared-size", R, "docker system df -v", NULL},
    {"GET", "/images/json", "digests", N, "docker images --digests",
     "dockerd reads it no more: RepoDigests are always listed"},
    {"GET", "/images/json", "manifests", R, "docker images --tree", NULL},
    {"POST", "/images/prune", "filters", H, "docker image prune --filter", NULL},
    {"GET", "/images/{name}/json", "manifests", R, NULL, NULL},
    {"GET", "/images/{name}/json", "platform", R, "docker image inspect --platform", NULL},
    {"GET", "/images/{name}/history", "platform", R, "docker history --platform", NULL},
    {"POST", "/images/{name}/tag", "repo", H, "docker tag", NULL},
    {"POST", "/images/{name}/tag", "tag", H, "docker tag", NULL},
    {"DELETE", "/images/{name}", "force", H, "docker rmi -f", NULL},
    {"DELETE", "/images/{name}", "noprune", H, "docker rmi --no-prune", NULL},
    {"DELETE", "/images/{name}", "platforms", R, "docker rmi --platform", NULL},
    /* ---- pull, import, push, login ---- */
    {"POST", "/images/create", "fromImage", H, "docker pull", NULL},
    {"POST", "/images/create", "fromSrc", H, "docker import",
     "\"-\" (the body); a URL is refused with 501"},
    {"POST", "/images/create", "repo", H, "docker import", NULL},
    {"POST", "/images/create", "tag", H, "docker pull, docker import", NULL},
    {"POST", "/images/create", "message", H, "docker import --message", NULL},
    {"POST", "/images/create", "changes", H, "docker import --change", NULL},
    {"POST", "/images/create", "platform", H, "docker pull --platform", NULL},
    {"POST", "/images/{name}/push", "tag", H, "docker push", NULL},
    {"POST", "/images/{name}/push", "platform", R, "docker push --platform", NULL},
    /* ---- save, load ---- */
    {"POST", "/images/load", "quiet", H, "docker load -q",
     "berth writes quiet's output always: quiet=0's per-layer progress bars are not drawn"},
    {"POST", "/images/load", "platform", R, "docker load --platform", NULL},
    {"GET", "/images/get", "names", H, "docker save", NULL},
    {"GET", "/images/get", "platform", R, "docker save --platform", NULL},
    {"GET", "/images/{name}/get", "platform", R, "docker save --platform", NULL},
    /* ---- containers ---- */
    {"POST", "/containers/create", "name", H, "docker create --name", NULL},
    {"POST", "/containers/create", "platform", R, "docker create --platform", NULL},
    {"GET", "/containers/json", "all", H, "docker ps -a", NULL},
    {"GET", "/containers/json", "limit", H, "docker ps -n", NULL},
    {"GET", "/containers/json", "size", H, "docker ps -s", NULL},
    {"GET", "/containers/json", "filters", H, "docker ps --filter",
     "its keys are checked by the route"},
    {"POST", "/containers/prune", "filters", H, "docker container prune --filter", NULL},
    {"GET", "/containers/{id}/json", "size", H, "docker inspect -s", NULL},
    {"POST", "/containers/{id}/rename", "name", H, "docker rename", NULL},
    {"POST", "/containers/{id}/start", "detachKeys", N, NULL,
     "dockerd reads it no more: attach takes the detach keys"},
    {"POST", "/containers/{id}/stop", "signal", H, "docker stop --signal", NULL},
    {"POST", "/containers/{id}/stop", "t", H, "docker stop -t", NULL},
    {"POST", "/containers/{id}/restart", "signal", H, "docker restart --signal", NULL},
    {"POST", "/containers/{id}/restart", "t", H, "docker restart -t", NULL},
    {"POST", "/containers/{id}/kill", "signal", H, "docker kill --signal", NULL},
    {"POST", "/containers/{id}/wait", "condition", H, "docker wait", NULL},
    {"POST", "/containers/{id}/resize", "h", H, "docker attach, docker run -t", NULL},
    {"POST", "/containers/{id}/resize", "w", H, "docker attach, docker run -t", NULL},
    {"POST", "/containers/{id}/attach", "detachKeys", H, "docker attach --detach-keys", NULL},
    {"POST", "/containers/{id}/attach", "logs", H, "docker attach (replays the log)", NULL},
    {"POST", "/containers/{id}/attach", "stream", H, "docker attach", NULL},
    {"POST", "/containers/{id}/attach", "stdin", H, "docker attach", NULL},
    {"POST", "/containers/{id}/attach", "stdout", H, "docker attach", NULL},
    {"POST", "/containers/{id}/attach", "stderr", H, "docker attach", NULL},
    {"DELETE", "/containers/{id}", "v", H, "docker rm -v",
     "its anonymous volumes go too, unless another container uses them"},
    {"DELETE", "/containers/{id}", "force", H, "docker rm -f", NULL},
    {"DELETE", "/containers/{id}", "link", H, "docker rm --link",
     "removes the legacy link PARENT/ALIAS from PARENT"},
    {"GET", "/containers/{id}/logs", "follow", H, "docker logs -f", NULL},
    {"GET", "/containers/{id}/logs", "stdout", H, "docker logs", NULL},
    {"GET", "/containers/{id}/logs", "stderr", H, "docker logs", NULL},
    {"GET", "/containers/{id}/logs", "since", H, "docker logs --since", NULL},
    {"GET", "/containers/{id}/logs", "until", H, "docker logs --until", NULL},
    {"GET", "/containers/{id}/logs", "timestamps", H, "docker logs -t", NULL},
    {"GET", "/containers/{id}/logs", "tail", H, "docker logs -n", NULL},
    /* ---- exec ---- (POST /containers/{id}/exec, POST /exec/{id}/start, GET /exec/{id}/json:
     * no parameters) */
    {"POST", "/exec/{id}/resize", "h", H, "docker exec -t (the terminal's size)", NULL},
    {"POST", "/exec/{id}/resize", "w", H, "docker exec -t (the terminal's size)", NULL},
    /* ---- volumes ---- */
    {"GET", "/volumes", "filters", H, "docker volume ls --filter", NULL},
    {"PUT", "/volumes/{name}", "version", N, NULL,
     "cluster volumes only: without swarm dockerd answers 503 before reading it, as berth does"},
    {"DELETE", "/volumes/{name}", "force", H, "docker volume rm -f",
     "a volume that does not exist is no error"},
    {"POST", "/volumes/prune", "filters", H, "docker volume prune --filter", NULL},
    /* ---- networks ---- */
    {"GET", "/networks", "filters", H, "docker network ls --filter",
     "its keys are checked by the route"},
    {"GET", "/networks/{id}", "verbose", H, "docker network inspect -v",
     "nothing more to show: no swarm services"},
    {"GET", "/networks/{id}", "scope", H, "docker network inspect",
     "every network is local: another scope finds none"},
    /* ---- prunes of what berth has none of yet ---- */
    {"POST", "/networks/prune", "filters", H, "docker network prune --filter",
     "berth has no user-defined network: nothing matches, nothing is pruned"},
    {"POST", "/build/prune", "keep-storage", H, "docker builder prune --keep-storage",
     "berth has no build cache: nothing is pruned"},
    {"POST", "/build/prune", "reserved-space", H, "docker builder prune --reserved-space",
     "as keep-storage"},
    {"POST", "/build/prune", "max-used-space", H, "docker builder prune --max-used-space",
     "as keep-storage"},
    {"POST", "/build/prune", "min-free-space", H, "docker builder prune --min-free-space",
     "as keep-storage"},
    {"POST", "/build/prune", "all", H, "docker builder prune -a", "as keep-storage"},
    {"POST", "/build/prune", "filters", H, "docker builder prune --filter", "as keep-storage"},
    {"HEAD", "/containers/{id}/archive", "path", H, "docker cp", NULL},
    {"GET", "/containers/{id}/archive", "path", H, "docker cp", NULL},
    {"PUT", "/containers/{id}/archive", "path", H, "docker cp", NULL},
    {"PUT", "/containers/{id}/archive", "noOverwriteDirNonDir", H, "docker cp",
     "the docker CLI sends it always"},
    {"PUT", "/containers/{id}/archive", "copyUIDGID", H, "docker cp -a",
     "owned by the container's user (Config.User), as dockerd does; else the archive's owners"},
    /* ---- commit ---- */
    {"POST", "/commit", "container", H, "docker commit", NULL},
    {"POST", "/commit", "repo", H, "docker commit", NULL},
    {"POST", "/commit", "tag", H, "docker commit", NULL},
    {"POST", "/commit", "comment", H, "docker commit -m", NULL},
    {"POST", "/commit", "author", H, "docker commit -a", NULL},
    {"POST", "/commit", "pause", H, "docker commit --pause=false", NULL},
    {"POST", "/commit", "changes", H, "docker commit -c", NULL},
    {"GET", "/containers/{id}/stats", "stream", H, "docker stats --no-stream", NULL},
    {"GET", "/containers/{id}/stats", "one-shot", H, NULL,
     "API 1.41 and later: one sample, without the earlier one CPU percentages need"},
    {"GET", "/containers/{id}/top", "ps_args", H, "docker top CONTAINER [ps OPTIONS]", NULL},
};

#undef H
#undef R
#undef N

const size_t params_table_len = ARRAY_SIZE(params_table);

bool params_route_is(const struct route *r, const char *method, const char *path)
{
    if (strcmp(r->method, method) != 0)
        return false;
    const char *p = r->pattern;
    for (; *p && *path; p++, path++) {
        if (*p == '*' && p[1] == '}')
            p++; /* "{name*}" is the spec's "{name}" */
        if (*p != *path)
            return false;
    }
    return !*p && !*path;
}

int params_check(const struct route *r, const struct http_msg *msg, struct berth_err **err)
{
    for (size_t i = 0; i < params_table_len; i++) {
        const struct param_row *p = &params_table[i];
        if (p->state != FIELD_REFUSED || !params_route_is(r, p->method, p->path) ||
            !http_query_bool(msg, p->name))
            continue;
        if (p->flag)
            return berth_user_error(err, EINVAL, "query parameter %s (%s) is not supported yet",
                                    p->name, p->flag);
        return berth_user_error(err, EINVAL, "query parameter %s is not supported yet", p->name);
    }
    return 0;
}
