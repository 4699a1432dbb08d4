"""The peers ``make bench`` measures the service against: what a Django team would pick instead.

Each is its own minimal Django project (a settings module here, the URLconf and views shared):
no middleware but the peer's own, no logging or metrics of ours, served by the same server
command line as the service. ``PEERS`` lists them in the order of the table.
"""
