"""Bank postings and statement files the bank tests share (OFX files written by hand, SGML 1.x and XML 2.x)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import Account, BankAccount
from clinicdesk.ledger.services import LineSpec, chart_install, entry_post

D = Decimal


def operating_bank(org, *, last4: str = "4321") -> BankAccount:
    chart_install(organization=org)
    account = Account.objects.get(organization=org, role=AccountRole.OPERATING_BANK)
    return BankAccount.objects.create(organization=org, name="Operating account", institution="First Valley Bank",
                                      last4=last4, account=account)


def bank_post(org, amount: str, *, on: date, memo: str = "", reference: str = "", other=AccountRole.UNDEPOSITED_FUNDS,
              kind=EntryKind.DEPOSIT):
    """Money into (positive) or out of (negative) the operating bank account; returns the bank's ledger line."""
    entry = entry_post(organization=org, entry_date=on, kind=kind, memo=memo, reference=reference, lines=[
        LineSpec(account=AccountRole.OPERATING_BANK, amount=D(amount)),
        LineSpec(account=other, amount=-D(amount)),
    ])
    return entry.lines.get(amount=D(amount))


SGML_OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20261031120000<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS><CURDEF>USD<BANKACCTFROM><BANKID>121000248<ACCTID>0000004321<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20261001<DTEND>20261031
<STMTTRN>
<TRNTYPE>DEP
<DTPOSTED>20261002
<TRNAMT>500.00
<FITID>OCT-1
<NAME>DEPOSIT
</STMTTRN>
<STMTTRN>
<TRNTYPE>FEE
<DTPOSTED>20261031
<TRNAMT>{fee}
<FITID>OCT-2
<NAME>MONTHLY FEE
<MEMO>Service charge
</STMTTRN>
</BANKTRANLIST>
<LEDGERBAL><BALAMT>1287.50<DTASOF>20261031</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""

XML_OFX = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS><DTSERVER>20261031120000</DTSERVER><LANGUAGE>ENG</LANGUAGE></SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
<STMTRS><CURDEF>USD</CURDEF><BANKACCTFROM><BANKID>121000248</BANKID><ACCTID>{acctid}</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>
<BANKTRANLIST><DTSTART>20261001</DTSTART><DTEND>20261031</DTEND>
<STMTTRN><TRNTYPE>CHECK</TRNTYPE><DTPOSTED>20261005120000.000[-5:EST]</DTPOSTED><TRNAMT>-200.00</TRNAMT><FITID>X-1</FITID><CHECKNUM>1042</CHECKNUM><NAME>CHECK 1042</NAME></STMTTRN>
</BANKTRANLIST>
<LEDGERBAL><BALAMT>800.00</BALAMT><DTASOF>20261031</DTASOF></LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""


def sgml_ofx(*, fee: str = "-12.50") -> bytes:
    return SGML_OFX.replace("{fee}", fee).replace("\n", "\r\n").encode("ascii")


def xml_ofx(*, acctid: str = "0000004321") -> bytes:
    return XML_OFX.replace("{acctid}", acctid).encode("utf-8")
