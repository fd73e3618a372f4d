# VMs from the ISO `npx vultr-sid-iso publish` put in your Vultr library, made by Terraform or
# OpenTofu (docs/terraform.md). `terraform init && terraform apply -var iso_filename=...`,
# with VULTR_API_KEY in the environment. Checked in `npm test` (test/terraform/example.test.ts)
# against the provider's schema.

terraform {
  required_version = ">= 1.5"
  required_providers {
    vultr = {
      source  = "vultr/vultr"
      version = "~> 2.32"
    }
  }
}

# Reads VULTR_API_KEY from the environment.
provider "vultr" {}

# The ISO, by the file name `npx vultr-sid-iso publish --json` printed ("filename"). The data
# source matches names exactly and fails unless exactly one ISO matches; it is not read when
# iso_id is given.
data "vultr_iso_private" "sid" {
  count = var.iso_id == "" ? 1 : 0
  filter {
    name   = "filename"
    values = [var.iso_filename]
  }
}

locals {
  # Or the id itself (publish --json's "isoId"), without the lookup.
  iso_id = var.iso_id != "" ? var.iso_id : data.vultr_iso_private.sid[0].id
  # The first tag is the one vultr-sid-iso's vm list, vm detach and vm delete recognise
  # (vm.tags in iso.config.yaml).
  tags = ["vultr-sid-iso", "terraform"]
}

# Dual-stack VMs: public IPv4 and IPv6.
resource "vultr_instance" "dual_stack" {
  count       = var.dual_stack_count
  region      = var.region
  plan        = var.plan
  iso_id      = local.iso_id
  enable_ipv6 = true
  label       = "sid-${count.index + 1}"
  hostname    = "sid-${count.index + 1}"
  tags        = local.tags
  ssh_key_ids = var.ssh_key_ids
  # cloud-init on the installed system reads it from Vultr's metadata (the provider
  # base64-encodes it).
  user_data = file("${path.module}/user-data.yaml")

  lifecycle {
    # The ISO stays attached until `npx vultr-sid-iso vm detach`, and that is harmless: with the
    # installed system on the disk the ISO boots it. Without this, the next nightly's ISO (a
    # new id) would make Terraform attach it to running VMs, and a detach done outside
    # Terraform be undone.
    ignore_changes = [iso_id]
  }
}

# IPv6-only VMs: no public IPv4 (disable_public_ipv4 is fixed at creation; Vultr ignores it
# without enable_ipv6). They reach Vultr's metadata through a private lease, so cloud-init
# and the boot program work as on a dual-stack VM.
resource "vultr_instance" "ipv6_only" {
  count               = var.ipv6_only_count
  region              = var.region
  plan                = var.plan
  iso_id              = local.iso_id
  enable_ipv6         = true
  disable_public_ipv4 = true
  label               = "sid-v6-${count.index + 1}"
  hostname            = "sid-v6-${count.index + 1}"
  tags                = local.tags
  ssh_key_ids         = var.ssh_key_ids
  user_data           = file("${path.module}/user-data.yaml")

  lifecycle {
    ignore_changes = [iso_id]
  }
}
