# `make demo`: the README's first command (e2e/demo/demo.sh), on the kind cluster
# `make kind-up` makes; `make demo-down` deletes it and puts back what it changed on
# the host.
.PHONY: demo demo-down
demo: deps build images $(KIND_NODE_STAMP)
	@$(KIND_ENV) IMAGE_ARCHIVES="$(IMAGE_ARCHIVES)" IMAGE_REGISTRY=$(IMAGE_REGISTRY) \
		IMAGE_TAG=$(IMAGE_TAG) e2e/demo/demo.sh

demo-down: kind-down
