"""The student's side: ``dlmath lab`` and the hooks of students' kernels."""
