/* handlers/prune_empty.c — the prunes of what berth has none of yet: user-defined networks and
 * the build cache. docker system prune asks for both and stops at the first error, so each
 * answers dockerd's report of nothing pruned (after checking its filters as dockerd does). */
#include "core/cleanup.h"
#include "core/json.h"
#include "handlers/api.h"
#include "handlers/filters.h"
#include "handlers/handlers.h"

/* No image is built yet, so there is no build cache. dockerd passes the keys BuildKit knows
 * on and ignores the others (label=, which docker system prune --filter sends to every prune,
 * among them), so no key is refused here. */
void build_prune(struct api_req *a)
{
    api_reply_json(a, 200, json_pack("{s:n si}", "CachesDeleted", "SpaceReclaimed", 0));
}
