"""Student kernels: bubblewrap, resource limits, their own user id, the zygote that forks them."""
