"""Returned mail as mail systems write it: DSNs of Postfix, Exim, Microsoft and Gmail, ARF complaints, auto-replies.

Each builder returns the bytes of one message, as it would land in the bounce mailbox.
"""

from __future__ import annotations

import itertools

_COUNTER = itertools.count(1)


def _id(host: str) -> str:
    return f"<{next(_COUNTER):06d}.returned@{host}>"


def original_headers(*, sender: str, recipient: str, message_id: str | None) -> str:
    """The headers of the returned original, as a DSN attaches them."""
    lines = [
        f"Return-Path: <{sender}>" if sender else "",
        "From: Paper digest <digest@localhost>",
        f"To: {recipient}",
        "Subject: 12 new papers for 2026-03-12",
        "Date: Sun, 22 Nov 2026 09:00:00 +0000",
        f"Message-ID: <{message_id}>" if message_id else "",
        "List-Id: Trending papers <digest.digest.example.org>",
    ]
    return "\n".join(line for line in lines if line) + "\n"


def postfix_dsn(*, to: str, recipient: str, status: str = "5.1.1", diagnostic: str | None = None,
                action: str = "failed", original: str = "") -> bytes:  # fmt: skip
    """Postfix's bounce (or, with ``action="delayed"``, its delay warning): RFC 3464, three parts."""
    diagnostic = diagnostic or (
        f"smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown in virtual mailbox table"
    )
    subject = "Delayed Mail (still being retried)" if action == "delayed" else "Undelivered Mail Returned to Sender"
    return f"""Return-Path: <>
Delivered-To: {to}
Received: by mx.example.net (Postfix) id 4Ab1Cd2EfG; Sun, 22 Nov 2026 09:05:01 +0000 (UTC)
Date: Sun, 22 Nov 2026 09:05:01 +0000 (UTC)
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: {subject}
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4Ab1Cd2EfG.1763802301/mx.example.net"
Content-Transfer-Encoding: 8bit
Message-Id: {_id("mx.example.net")}

This is a MIME-encapsulated message.

--4Ab1Cd2EfG.1763802301/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{recipient}>: host mail.example.org[192.0.2.1] said: {diagnostic.partition("; ")[2]}
    (in reply to RCPT TO command)

--4Ab1Cd2EfG.1763802301/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4Ab1Cd2EfG
X-Postfix-Sender: rfc822; {to}
Arrival-Date: Sun, 22 Nov 2026 09:00:01 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mail.example.org
Diagnostic-Code: {diagnostic}

--4Ab1Cd2EfG.1763802301/mx.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{original}
--4Ab1Cd2EfG.1763802301/mx.example.net--
""".encode()


def exim_bounce(*, to: str, recipient: str, answer: str, original: str = "") -> bytes:
    """Exim's classic bounce: plain text, X-Failed-Recipients, a copy of the message below."""
    return f"""Return-path: <>
Envelope-to: {to}
Delivery-date: Sun, 22 Nov 2026 09:06:00 +0000
Received: from Debian-exim by mx.exim.example with local (Exim 4.97)
\tid 1vAbCd-000123-Ef
X-Failed-Recipients: {recipient}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.exim.example>
To: {to}
Content-Type: text/plain; charset=us-ascii
Subject: Mail delivery failed: returning message to sender
Message-Id: {_id("mx.exim.example")}
Date: Sun, 22 Nov 2026 09:06:00 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    host mail.example.org [192.0.2.2]
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    {answer}

------ This is a copy of the message, including all the headers. ------

{original}
Hello, this was the digest.
""".encode()


def microsoft_ndr(*, to: str, recipient: str, original: str = "") -> bytes:
    """Exchange Online's non-delivery report: a DSN with a readable part, status 5.1.10, the original attached."""
    return f"""Received: from DM6PR01MB0001.namprd01.prod.outlook.com; Sun, 22 Nov 2026 09:07:00 +0000
From: postmaster@outlook.com
To: {to}
Date: Sun, 22 Nov 2026 09:07:00 +0000
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: {_id("DM6PR01MB0001.namprd01.prod.outlook.com")}
Subject: Undeliverable: 12 new papers for 2026-03-12
Auto-Submitted: auto-replied
MIME-Version: 1.0

--a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Your message to {recipient} couldn't be delivered.
{recipient.split("@")[0]} wasn't found at {recipient.split("@")[1]}.

Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient n=
ot found by SMTP address lookup'

--a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d
Content-Type: message/delivery-status

Reporting-MTA: dns;DM6PR01MB0001.namprd01.prod.outlook.com
Received-From-MTA: dns;mail.example.org
Arrival-Date: Sun, 22 Nov 2026 09:06:59 +0000

Final-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d
Content-Type: message/rfc822

{original}
This was the digest.

--a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d--
""".encode()


def gmail_dsn(*, to: str, recipient: str, original: str = "", status: str = "5.1.1") -> bytes:
    """Gmail's "Address not found": a DSN with text and HTML, the status and the original's headers."""
    answer = (
        "550-5.1.1 The email account that you tried to reach does not exist."
        if status == "5.1.1"
        else "552-5.2.2 The recipient's inbox is out of storage space."
    )
    return f"""Delivered-To: {to}
Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {to}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
Message-ID: {_id("mx.google.com")}
Date: Sun, 22 Nov 2026 01:08:00 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000abcdef"; report-type=delivery-status

--000000000000abcdef
Content-Type: multipart/related; boundary="000000000000abcdee"

--000000000000abcdee
Content-Type: multipart/alternative; boundary="000000000000abcded"

--000000000000abcded
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to {recipient} because the address couldn't be found, or is unable to receive mail.

The response was:

{answer} Please try double-checking the recipient's email address for typos.

--000000000000abcded
Content-Type: text/html; charset="UTF-8"

<html><body><h2>Address not found</h2></body></html>

--000000000000abcded--
--000000000000abcdee--
--000000000000abcdef
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Arrival-Date: Sun, 22 Nov 2026 01:07:59 -0800 (PST)

Final-Recipient: rfc822; {recipient}
Action: failed
Status: {status}
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2607:f8b0::1b, the server for the domain gmail.com.)
Diagnostic-Code: smtp; {answer} https://support.google.com/mail/?p=NoSuchUser
Last-Attempt-Date: Sun, 22 Nov 2026 01:08:00 -0800 (PST)

--000000000000abcdef
Content-Type: text/rfc822-headers

{original}
--000000000000abcdef--
""".encode()


def arf_complaint(*, to: str, mail_from: str, original: str, feedback_type: str = "abuse") -> bytes:
    """A mailbox provider's feedback-loop report (RFC 5965), the complaining recipient redacted."""
    return f"""From: Feedback Loop <fbl@fbl.example.net>
To: {to}
Subject: FW: 12 new papers for 2026-03-12
Date: Sun, 22 Nov 2026 10:00:00 +0000
Message-ID: {_id("fbl.example.net")}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
\tboundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.25 on Sun, 22 Nov 2026 09:00:01 +0000.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: ExampleFBL/1.0
Version: 1
Original-Mail-From: <{mail_from}>
Arrival-Date: Sun, 22 Nov 2026 09:00:01 +0000
Source-IP: 192.0.2.25
Reported-Domain: example.org

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

{original}
This was the digest.

--part1_13d.2e68ed54_boundary--
""".encode()


def out_of_office(*, to: str, sender: str) -> bytes:
    return f"""From: {sender}
To: {to}
Subject: Automatic reply: 12 new papers for 2026-03-12
Date: Sun, 22 Nov 2026 09:01:00 +0000
Message-ID: {_id("example.org")}
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset=utf-8

I am out of the office until Monday, with no access to mail. For anything urgent, write to 550 unknown user desk.
""".encode()
