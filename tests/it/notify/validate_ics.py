"""Reads an iCalendar file with the `icalendar` package and prints one line
per event (UID, date, summary, alarm trigger, description), so that a test can
check what a real parser makes of it. Exits non-zero on any parse error."""

import sys

import icalendar

with open(sys.argv[1], "rb") as f:
    data = f.read()
for line in data.split(b"\r\n")[:-1]:
    if len(line) > 75:
        sys.exit(f"line longer than 75 octets: {line!r}")
calendar = icalendar.Calendar.from_ical(data)
if calendar.errors:
    sys.exit(f"errors: {calendar.errors}")
for event in calendar.walk("VEVENT"):
    if event.errors:
        sys.exit(f"errors: {event.errors}")
    alarms = event.walk("VALARM")
    trigger = alarms[0].decoded("TRIGGER") if alarms else None
    print(
        "\t".join(
            [
                str(event["UID"]),
                event.decoded("DTSTART").isoformat(),
                str(event["SUMMARY"]),
                str(trigger),
                str(event["DESCRIPTION"]),
            ]
        )
    )
