"""The example project under real multi-worker servers, slow caches and replicas."""
