"""Put synthesized stacks through the real Terraform CLI and AWS provider: plan gate and deploy rehearsal."""  # noqa: E501
