# Dates and times in the admin and the review pages: ISO-like and to the second, so events
# of the same minute keep their order on the page (Django's English default is
# "Dec. 5, 2026, 9:10 a.m."). The template filter `date:"DATETIME_FORMAT"` uses them too.
DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
