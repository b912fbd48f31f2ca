"""Core dispatch and the stateful proxy engine behind the tm/sl/rr functions; the Env the script talks to."""
