/* exec/ctrlinks.h — legacy links (docker run --link NAME[:ALIAS]) as dockerd keeps them. On the
 * default bridge: checked at create (the linked container exists, is not on the host's network)
 * and kept in HostConfig.Links as inspect shows them ("/child:/parent/alias"); at each start the
 * linked containers must run on the bridge, and the container gets their /etc/hosts lines and
 * Docker's link variables. On a user network (EndpointsConfig.Links): a DNS alias only the
 * linking container resolves. Nothing here runs for a container without links. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "exec/container.h"

struct exec_env;

/* dockerd's ParseLink: "name" (alias = name), "name:alias", or inspect's "/name:/parent/alias".
 * EINVAL "empty string specified for links", "bad format for links: X". Heap strings. */
int ctrlinks_parse(const char *val, char **name, char **alias, struct berth_err **err);

/* dockerd's links.ToEnv (28.x): the link variables of the link named link_name
 * ("/parent/alias") to a container at child_ip with its Config.Env (HOME and PATH skipped) and
 * Config.ExposedPorts ({"80/tcp":{}}), appended to out (a JSON array of "K=V"). */
void ctrlinks_env(const char *link_name, const char *child_ip, const json_t *child_env,
                  const json_t *exposed_ports, json_t *out);

/* Create, reactor: c's links checked as dockerd's registerLinks (EINVAL "could not get container
 * for X: No such container: X", host networking's conflict) and HostConfig.Links rewritten as
 * inspect shows them; a second link with the same alias is dropped, as dockerd drops it. With
 * icc false (daemon.json) links on the default bridge are refused: berth does not open the
 * linked ports through its firewall. On a user network HostConfig.Links is not kept (dockerd
 * shows none) and EndpointsConfig's Links are parsed. */
int ctrlinks_settle(struct ctr_store *cs, struct container *c, const json_t *body, bool icc,
                    struct berth_err **err);

/* Start, reactor: the links of c on the default bridge, each to a container that runs there:
 * their /etc/hosts lines ("IP\talias hostname name") into hosts and their variables into *env
 * (NULL when c has none). dockerd's words: "Cannot link to a non running container: /x AS
 * /y/alias", "Cannot link to /x, as it does not belong to the default network". */
int ctrlinks_resolve(struct exec_env *env, const struct container *c, struct buf *hosts,
                     json_t **envs, struct berth_err **err);

/* docker rm --link PARENT/ALIAS: the link goes from PARENT's HostConfig.Links (saved). 1 when
 * the name is no PARENT/ALIAS (the caller looks it up as a container); errors in dockerd's
 * words. */
int ctrlinks_remove(struct ctr_store *cs, const char *name, struct berth_err **err);

/* docker rename (reactor): c's own links carry its new parent name, and the links of others to
 * c its new name (dockerd keeps them by container, so inspect shows the new names); those
 * changed are saved (c by the caller). */
void ctrlinks_renamed(struct ctr_store *cs, struct container *c, const char *old_name);

/* A linked container started (reactor): the running containers linking to it get its new
 * address in their /etc/hosts lines of the link, as dockerd's UpdateHostsEntry. Costs one flag
 * test when no container has links. */
void ctrlinks_child_started(struct exec_env *env, const struct container *child, const char *ip);
