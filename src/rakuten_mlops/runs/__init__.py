"""Prefect runs of the stack: list, follow, start, cancel, retry, schedule, and start on events.

catalog.py    the project's deployments, one source of truth (flows/deployments.py serves them)
connect.py    which Prefect server to use, and a client for it
records.py    what the commands, the API and the control room show: runs, log lines, schedules
service.py    `Runs`: list, show, logs, start, retry, cancel, and the 24-hour summary
stopping.py   a cancel that stops the work: the run's processes, then its side effects
guard.py      flow hooks that make a run stoppable and clean up after a cancel
schedules.py  cron (with a timezone) and interval schedules kept in the Prefect server
events.py     `POST /events`: an event starts its mapped deployment; each one is stored
inprocess.py  run a flow in this process and keep its return value (a lost server answer loses nothing)
execute.py    `python -m rakuten_mlops.runs.execute DEPLOYMENT`: a deployment's flow without a server
"""
