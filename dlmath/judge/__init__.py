"""The judge: test cells run in the grader's process; the agent in the student's kernel
answers its calls with plain data."""
