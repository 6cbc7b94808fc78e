"""The IBM Cloud Dedicated stand-in: Cloud Controller, UAA, IAM and the registry, in one process."""
