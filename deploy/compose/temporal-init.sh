#!/bin/sh
# One-shot: CRA's namespace and its search attributes (temporal.config.ts, deploy/README.md) on the
# compose Temporal server, with the `temporal` CLI from temporalio/admin-tools.
#   https://docs.temporal.io/cli/operator#namespace  https://docs.temporal.io/cli/operator#search-attribute
set -eu
: "${TEMPORAL_ADDRESS:?}" "${CRA_NAMESPACE:?}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do sleep 1; done
temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$CRA_NAMESPACE" >/dev/null 2>&1 ||
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$CRA_NAMESPACE" --retention 30d
temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$CRA_NAMESPACE" \
  --name CraAccountId --type Keyword --name CraProcess --type Keyword --name CraStage --type Keyword \
  --name CraProvider --type Keyword --name CraNeedsApproval --type Bool || true # exist already on a rerun
echo "temporal-init: namespace $CRA_NAMESPACE and search attributes ready"
