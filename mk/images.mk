# Container images. `make images` builds the three daemons, the two Go programs the
# cluster tests run and the demo's two-service application (sample-shop), with docker where a Docker engine answers, else buildah, else
# podman (IMAGE_BUILDER= overrides), FROM a debian:bookworm-slim that
# images/base/make-debian-base.sh makes locally when no engine or registry has it.
# Each image is also written as a docker-archive, build/images/<short>.tar, that
# `kind load image-archive` and `ctr images import` take, rewritten only when the image
# changed; IMAGE_ARCHIVES lists them. Names are fully qualified: an unqualified one
# becomes localhost/..., which containerd then sees under another name.

IMAGE_REGISTRY ?= docker.io/autotrace
IMAGE_TAG      ?= dev
BASE_IMAGE     ?= docker.io/library/debian:bookworm-slim
IMAGES         := operator webhook agent sample-httpsvc otlp-receiver sample-shop
image_ref       = $(IMAGE_REGISTRY)/$(1):$(IMAGE_TAG)
IMAGE_REFS      = $(foreach i,$(IMAGES),$(call image_ref,$(i)))
IMAGE_DIR      := build/images
IMAGE_ARCHIVES := $(IMAGES:%=$(IMAGE_DIR)/%.tar)

# Decided once, by the first recipe that needs it (docker info takes a moment).
IMAGE_BUILDER ?= $(eval IMAGE_BUILDER := $(shell \
	if command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; then echo docker; \
	elif command -v buildah >/dev/null; then echo buildah; \
	elif command -v podman >/dev/null; then echo podman; fi))$(IMAGE_BUILDER)

# The daemons build from the repository's root (.dockerignore keeps it to the sources);
# each Go program's context is its binary alone, built on the host by the rules that
# build it for the tests (see the Go Dockerfiles for why).
IMAGE_CONTEXT_operator       := .
IMAGE_CONTEXT_webhook        := .
IMAGE_CONTEXT_agent          := .
IMAGE_CONTEXT_sample-httpsvc := $(IMAGE_DIR)/context/sample-httpsvc
IMAGE_CONTEXT_otlp-receiver  := $(IMAGE_DIR)/context/otlp-receiver
IMAGE_CONTEXT_sample-shop    := $(IMAGE_DIR)/context/sample-shop
IMAGE_GO_BINS := $(IMAGE_CONTEXT_sample-httpsvc)/httpsvc $(IMAGE_CONTEXT_otlp-receiver)/otlp-receiver \
	$(IMAGE_CONTEXT_sample-shop)/frontend $(IMAGE_CONTEXT_sample-shop)/backend

# (mk/otlp-receiver.mk comes after this file: its binary is named in the recipe, which
# make expands late, and reached through its phony target.)
$(IMAGE_CONTEXT_sample-httpsvc)/httpsvc: $(FIXTURE_DIR)/httpsvc-$(FIXTURE_GO_LOCAL)
	@mkdir -p $(@D)
	$(Q)cp -p $< $@
# Both services of the shop in one image (each Deployment names its binary): one more
# build and one more archive, each carrying the base's layers, rather than two.
$(IMAGE_CONTEXT_sample-shop)/%: $(FIXTURE_DIR)/shop-%-$(FIXTURE_GO_LOCAL)
	@mkdir -p $(@D)
	$(Q)cp -p $< $@
$(IMAGE_CONTEXT_otlp-receiver)/otlp-receiver: otlp-receiver
	@mkdir -p $(@D)
	$(Q)cmp -s $(OTLP_RECEIVER_BIN) $@ || cp -p $(OTLP_RECEIVER_BIN) $@

image_build = IMAGE_BUILDER=$(IMAGE_BUILDER) IMAGE_REGISTRY=$(IMAGE_REGISTRY) \
	IMAGE_TAG=$(IMAGE_TAG) BASE_IMAGE=$(BASE_IMAGE) IMAGE_DIR=$(IMAGE_DIR) \
	CACHE_DIR=$(CACHE_DIR) images/build-image.sh

.PHONY: images image-base $(IMAGES:%=image-%) test-images
# One image after the other, also under -j: the three daemons share their build
# stage, which the first of them compiles and the layer cache gives the others.
images: image-base $(IMAGE_GO_BINS)
	@start=$$SECONDS; $(foreach i,$(IMAGES),$(image_build) $(i) $(IMAGE_CONTEXT_$(i)) &&) \
		echo "images: $(words $(IMAGES)) images with $(IMAGE_BUILDER) in $$((SECONDS - start))s; archives in $(IMAGE_DIR)/"

$(IMAGES:%=image-%): image-%: image-base $(IMAGE_GO_BINS)
	@$(image_build) $* $(IMAGE_CONTEXT_$*)

# docker pulls its base from its registry; buildah and podman get it made here.
image-base: | deps-apt
	@[ "$(IMAGE_BUILDER)" = docker ] || CACHE_DIR=$(CACHE_DIR) images/base/make-debian-base.sh

# What a user of the images relies on (tests/images/images.t.sh).
test-images: images
	@IMAGE_BUILDER=$(IMAGE_BUILDER) IMAGE_REGISTRY=$(IMAGE_REGISTRY) IMAGE_TAG=$(IMAGE_TAG) \
		IMAGE_DIR=$(IMAGE_DIR) IMAGES="$(IMAGES)" CACHE_DIR=$(CACHE_DIR) \
		$(RUN_TAP) images 600 tests/images/images.t.sh
