"""RFC 4475 "SIP Torture Test Messages": every parser test of section 3.1 and the parse-level cases of 3.2-3.4.

The messages are the RFC's bytes: lines end in CRLF, and the parts the RFC gives as <hex> (the control
characters of intmeth, the UTF-8 reason of unreason, the binary S/MIME part of mpart01) are written as escapes.

Invalid messages (3.1.2) are rejected with SIPParseError carrying the status a server answers with, except where
the RFC allows a tolerance we take (documented on the test):
  3.1.2.12 baddate   accepted: the Date header is carried, never interpreted.
  3.1.2.13 regbadct  accepted by parse_message (Contact is parsed lazily); reading ``contacts`` raises 400.
"""

from __future__ import annotations

import pytest

from pysips.errors import SIPParseError
from pysips.sip.message import Request, Response, parse_message
from pysips.sip.uri import unescape

# fmt: off
WSINV = (
    b'INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n'
    b'TO :\r\n'
    b' sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n'
    b'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n'
    b'  ;\r\n'
    b'  tag = 98asjd8\r\n'
    b'MaX-fOrWaRdS: 0068\r\n'
    b'Call-ID: wsinv.ndaksdj@192.0.2.1\r\n'
    b'Content-Length   : 150\r\n'
    b'cseq: 0009\r\n'
    b'  INVITE\r\n'
    b'Via  : SIP  /   2.0\r\n'
    b' /UDP\r\n'
    b'    192.0.2.2;branch=390skdjuw\r\n'
    b's :\r\n'
    b'NewFangledHeader:   newfangled value\r\n'
    b' continued newfangled value\r\n'
    b'UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n'
    b'Content-Type: application/sdp\r\n'
    b'Route:\r\n'
    b' <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n'
    b'v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n'
    b'  branch  =   z9hG4bK9ikj8  ,\r\n'
    b' SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n'
    b' z9hG4bK30239\r\n'
    b'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\r\n'
    b'      newvalue ;\r\n'
    b'  secondparam ; q = 0.33\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.3\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.4\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

INTMETH = (
    b"!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n"
    b'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:1_unusual.URI~(to-be!sure)&isn\'t+it$/crazy?,/;;*@example.com>\r\n'
    b'From: token1~` token2\'+_ token3*%!.- <sip:mundane@example.com>;fromParam\'\'~+*_!.-%="\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8\xd0\xb9";tag=_token~1\'+`*%!-.\r\n'
    b'Call-ID: intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{\r\n'
    b"CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"
    b'Max-Forwards: 255\r\n'
    b"extensionHeader-!.%*+_`'~:\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb\r\n"
    b'Content-Length: 0\r\n'
    b'\r\n'
)

ESC01 = (
    b'INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\r\n'
    b'To: sip:%75se%72@example.com\r\n'
    b'From: <sip:I%20have%20spaces@example.net>;tag=938\r\n'
    b'Max-Forwards: 87\r\n'
    b'i: esc01.239409asdfakjkn23onasd0-3234\r\n'
    b'CSeq: 234234 INVITE\r\n'
    b'Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\r\n'
    b'C: application/sdp\r\n'
    b'Contact:\r\n'
    b'  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\r\n'
    b'Content-Length: 150\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.1\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

ESCNULL = (
    b'REGISTER sip:example.com SIP/2.0\r\n'
    b'To: sip:null-%00-null@example.com\r\n'
    b'From: sip:null-%00-null@example.com;tag=839923423\r\n'
    b'Max-Forwards: 70\r\n'
    b'Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd\r\n'
    b'CSeq: 14398234 REGISTER\r\n'
    b'Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\n'
    b'Contact: <sip:%00@host5.example.com>\r\n'
    b'Contact: <sip:%00%00@host5.example.com>\r\n'
    b'L:0\r\n'
    b'\r\n'
)

ESC02 = (
    b'RE%47IST%45R sip:registrar.example.com SIP/2.0\r\n'
    b'To: "%Z%45" <sip:resource@example.com>\r\n'
    b'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23\r\n'
    b'Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\r\n'
    b'Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234\r\n'
    b'CSeq: 29344 RE%47IST%45R\r\n'
    b'Max-Forwards: 70\r\n'
    b'Contact: <sip:alias1@host1.example.com>\r\n'
    b'C%6Fntact: <sip:alias2@host2.example.com>\r\n'
    b'Contact: <sip:alias3@host3.example.com>\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

LWSDISP = (
    b'OPTIONS sip:user@example.com SIP/2.0\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: caller<sip:caller@example.com>;tag=323\r\n'
    b'Max-Forwards: 70\r\n'
    b'Call-ID: lwsdisp.1234abcd@funky.example.com\r\n'
    b'CSeq: 60 OPTIONS\r\n'
    b'Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

LONGREQ = (
    b'INVITE sip:user@example.com SIP/2.0\r\n'
    b'To: "I have a user name of extremeextremeextremeextremeextremeextremeextremeextremeextremeextreme proportion"<sip:user@example.com:6000;unknownparam1=verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongvalue;longparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamename=shortvalue;verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongParameterNameWithNoValue>\r\n'
    b'F: sip:amazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallername@example.net;tag=12982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982424;unknownheaderparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamename=unknowheaderparamvaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevalue;unknownValuelessparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamname\r\n'
    b'Call-ID: longreq.onereallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallylongcallid\r\n'
    b'CSeq: 3882340 INVITE\r\n'
    b'Unknown-LongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLong-Name: unknown-longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong-value; unknown-longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong-parameter-name = unknown-longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong-parameter-value\r\n'
    b'Via: SIP/2.0/TCP sip33.example.com\r\n'
    b'v: SIP/2.0/TCP sip32.example.com\r\n'
    b'V: SIP/2.0/TCP sip31.example.com\r\n'
    b'Via: SIP/2.0/TCP sip30.example.com\r\n'
    b'ViA: SIP/2.0/TCP sip29.example.com\r\n'
    b'VIa: SIP/2.0/TCP sip28.example.com\r\n'
    b'VIA: SIP/2.0/TCP sip27.example.com\r\n'
    b'via: SIP/2.0/TCP sip26.example.com\r\n'
    b'viA: SIP/2.0/TCP sip25.example.com\r\n'
    b'vIa: SIP/2.0/TCP sip24.example.com\r\n'
    b'vIA: SIP/2.0/TCP sip23.example.com\r\n'
    b'V :  SIP/2.0/TCP sip22.example.com\r\n'
    b'v :  SIP/2.0/TCP sip21.example.com\r\n'
    b'V  : SIP/2.0/TCP sip20.example.com\r\n'
    b'v  : SIP/2.0/TCP sip19.example.com\r\n'
    b'Via : SIP/2.0/TCP sip18.example.com\r\n'
    b'Via  : SIP/2.0/TCP sip17.example.com\r\n'
    b'Via: SIP/2.0/TCP sip16.example.com\r\n'
    b'Via: SIP/2.0/TCP sip15.example.com\r\n'
    b'Via: SIP/2.0/TCP sip14.example.com\r\n'
    b'Via: SIP/2.0/TCP sip13.example.com\r\n'
    b'Via: SIP/2.0/TCP sip12.example.com\r\n'
    b'Via: SIP/2.0/TCP sip11.example.com\r\n'
    b'Via: SIP/2.0/TCP sip10.example.com\r\n'
    b'Via: SIP/2.0/TCP sip9.example.com\r\n'
    b'Via: SIP/2.0/TCP sip8.example.com\r\n'
    b'Via: SIP/2.0/TCP sip7.example.com\r\n'
    b'Via: SIP/2.0/TCP sip6.example.com\r\n'
    b'Via: SIP/2.0/TCP sip5.example.com\r\n'
    b'Via: SIP/2.0/TCP sip4.example.com\r\n'
    b'Via: SIP/2.0/TCP sip3.example.com\r\n'
    b'Via: SIP/2.0/TCP sip2.example.com\r\n'
    b'Via: SIP/2.0/TCP sip1.example.com\r\n'
    b'Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongbranchvalue\r\n'
    b'Max-Forwards: 70\r\n'
    b'Contact: <sip:amazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallername@host5.example.net>\r\n'
    b'Content-Type: application/sdp\r\n'
    b'l: 150\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.1\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

DBLREQ = (
    b'REGISTER sip:example.com SIP/2.0\r\n'
    b'To: sip:j.user@example.com\r\n'
    b'From: sip:j.user@example.com;tag=43251j3j324\r\n'
    b'Max-Forwards: 8\r\n'
    b'I: dblreq.0ha0isndaksdj99sdfafnl3lk233412\r\n'
    b'Contact: sip:j.user@host.example.com\r\n'
    b'CSeq: 8 REGISTER\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\r\n'
    b'Content-Length: 0\r\n'
    b'\r\n'
    b'\r\n'
    b'INVITE sip:joe@example.com SIP/2.0\r\n'
    b't: sip:joe@example.com\r\n'
    b'From: sip:caller@example.net;tag=141334\r\n'
    b'Max-Forwards: 8\r\n'
    b'Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15\r\n'
    b'CSeq: 8 INVITE\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\r\n'
    b'Content-Type: application/sdp\r\n'
    b'Content-Length: 150\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.15\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.15\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm =video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

SEMIURI = (
    b'OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\n'
    b'To: sip:j_user@example.com\r\n'
    b'From: sip:caller@example.org;tag=33242\r\n'
    b'Max-Forwards: 3\r\n'
    b'Call-ID: semiuri.0ha0isndaksdj\r\n'
    b'CSeq: 8 OPTIONS\r\n'
    b'Accept: application/sdp, application/pkcs7-mime,\r\n'
    b'        multipart/mixed, multipart/signed,\r\n'
    b'        message/sip, message/sipfrag\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

TRANSPORTS = (
    b'OPTIONS sip:user@example.com SIP/2.0\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: <sip:caller@example.com>;tag=323\r\n'
    b'Max-Forwards: 70\r\n'
    b'Call-ID:  transports.kijh4akdnaqjkwendsasfdj\r\n'
    b'Accept: application/sdp\r\n'
    b'CSeq: 60 OPTIONS\r\n'
    b'Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\r\n'
    b'Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\r\n'
    b'Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\r\n'
    b'Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\r\n'
    b'Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

MPART01 = (
    b'MESSAGE sip:kumiko@example.org SIP/2.0\r\n'
    b'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport\r\n'
    b'Max-Forwards: 70\r\n'
    b'Route: <sip:127.0.0.1:5080>\r\n'
    b'Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=\r\n'
    b'Contact: <sip:fluffy@127.0.0.1:5070>\r\n'
    b'To: <sip:kumiko@example.org>\r\n'
    b'From: <sip:fluffy@example.com>;tag=2fb0dcc9\r\n'
    b'Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..\r\n'
    b'CSeq: 1 MESSAGE\r\n'
    b'Content-Transfer-Encoding: binary\r\n'
    b'Content-Type: multipart/mixed;boundary=7a9cbec02ceef655\r\n'
    b'Date: Sat, 15 Oct 2005 04:44:56 GMT\r\n'
    b'User-Agent: SIPimp.org/0.2.5 (curses)\r\n'
    b'Content-Length: 553\r\n'
    b'\r\n'
    b'--7a9cbec02ceef655\r\n'
    b'Content-Type: text/plain\r\n'
    b'Content-Transfer-Encoding: binary\r\n'
    b'\r\n'
    b'Hello\r\n'
    b'--7a9cbec02ceef655\r\n'
    b'Content-Type: application/octet-stream\r\n'
    b'Content-Transfer-Encoding: binary\r\n'
    b'\r\n'
    b"0\x82\x01R\x06\t*\x86H\x86\xf7\r\x01\x07\x02\xa0\x82\x01C0\x82\x01?\x02\x01\x011\t0\x07\x06\x05+\x0e\x03\x02\x1a0\x0b\x06\t*\x86H\x86\xf7\r\x01\x07\x011\x82\x01 0\x82\x01\x1c\x02\x01\x010|0p1\x0b0\t\x06\x03U\x04\x06\x13\x02US1\x130\x11\x06\x03U\x04\x08\x13\nCalifornia1\x110\x0f\x06\x03U\x04\x07\x13\x08San Jose1\x0e0\x0c\x06\x03U\x04\n\x13\x05sipit1)0'\x06\x03U\x04\x0b\x13 Sipit Test Certificate Authority\x02\x08\x01\x95\x00q\x023\x01\x130\x07\x06\x05+\x0e\x03\x02\x1a0\r\x06\t*\x86H\x86\xf7\r\x01\x01\x01\x05\x00\x04\x81\x80\x8e\xf4f\xf9H\xf0R-\xd2\xe5\x97\x8e\x9d\x95\xaa\xe9\xf2\xfe\x15\xa0fYqb\x92\xe8\xda*\xa8\xd85\nh\xce\xff\xae<\xbd+\xff\x16u\xdd\xd5d\x8eY=\xd6G(\xf2b \xf7\xe9At\x9e3\r\x9a\x15\xed\xab\xdb\x93\xd1\x0cB\x10.{r\x89\xd2\x9c\xc0\xc9\xae.\xfb\xc7\xc0\xcf\xf9\x17/;\x02~O\xc0'\xe1Tm\xe4\xb6\xaa:\xbb>f\xcc\xcb]\xd6\xc6K\x83\x83\x14\x9c\xb8\xe6\xff\x18-\x94O\xe5{e\xbc\x99\xd0\x05\r\n"
    b'--7a9cbec02ceef655--\r\n'
)

UNREASON = (
    b'SIP/2.0 200 = 2**3 * 5**2 \xd0\xbd\xd0\xbe \xd1\x81\xd1\x82\xd0\xbe \xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd0\xbd\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe \xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd1\x82\xd1\x8c - \xd0\xbf\xd1\x80\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe\xd0\xb5\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\r\n'
    b'Call-ID: unreason.1234ksdfak3j2erwedfsASdf\r\n'
    b'CSeq: 35 INVITE\r\n'
    b'From: sip:user@example.com;tag=11141343\r\n'
    b'To: sip:user@example.edu;tag=2229\r\n'
    b'Content-Length: 154\r\n'
    b'Content-Type: application/sdp\r\n'
    b'Contact: <sip:user@host198.example.com>\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.198\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.198\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

NOREASON = (
    b'SIP/2.0 100 \r\n'
    b'Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\n'
    b'Call-ID: noreason.asndj203insdf99223ndf\r\n'
    b'CSeq: 35 INVITE\r\n'
    b'From: <sip:user@example.com>;tag=39ansfi3\r\n'
    b'To: <sip:user@example.edu>;tag=902jndnke3\r\n'
    b'Content-Length: 0\r\n'
    b'Contact: <sip:user@host105.example.com>\r\n'
    b'\r\n'
)

BADINV01 = (
    b'INVITE sip:user@example.com SIP/2.0\r\n'
    b'To: sip:j.user@example.com\r\n'
    b'From: sip:caller@example.net;tag=134161461246\r\n'
    b'Max-Forwards: 7\r\n'
    b'Call-ID: badinv01.0ha0isndaksdjasdf3234nas\r\n'
    b'CSeq: 8 INVITE\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.15;;,;,,\r\n'
    b'Contact: "Joe" <sip:joe@example.org>;;;;\r\n'
    b'Content-Length: 152\r\n'
    b'Content-Type: application/sdp\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.15\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.15\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

CLERR = (
    b'INVITE sip:user@example.com SIP/2.0\r\n'
    b'Max-Forwards: 80\r\n'
    b'To: sip:j.user@example.com\r\n'
    b'From: sip:caller@example.net;tag=93942939o2\r\n'
    b'Contact: <sip:caller@hungry.example.net>\r\n'
    b'Call-ID: clerr.0ha0isndaksdjweiafasdk3\r\n'
    b'CSeq: 8 INVITE\r\n'
    b'Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\r\n'
    b'Content-Type: application/sdp\r\n'
    b'Content-Length: 9999\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.155\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.155\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

NCL = (
    b'INVITE sip:user@example.com SIP/2.0\r\n'
    b'Max-Forwards: 254\r\n'
    b'To: sip:j.user@example.com\r\n'
    b'From: sip:caller@example.net;tag=32394234\r\n'
    b'Call-ID: ncl.0ha0isndaksdj2193423r542w35\r\n'
    b'CSeq: 0 INVITE\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw\r\n'
    b'Contact: <sip:caller@example53.example.net>\r\n'
    b'Content-Type: application/sdp\r\n'
    b'Content-Length: -999\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.53\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.53\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

SCALAR02 = (
    b'REGISTER sip:example.com SIP/2.0\r\n'
    b'Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3\r\n'
    b'To: <sip:user@example.com>\r\n'
    b'From: <sip:user@example.com>;tag=239232jh3\r\n'
    b'CSeq: 36893488147419103232 REGISTER\r\n'
    b'Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\r\n'
    b'Max-Forwards: 300\r\n'
    b'Expires: 10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\r\n'
    b'Contact: <sip:user@host129.example.com>\r\n'
    b'  ;expires=280297596632815\r\n'
    b'Content-Length: 0\r\n'
    b'\r\n'
)

SCALARLG = (
    b'SIP/2.0 503 Service Unavailable\r\n'
    b'Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129\r\n'
    b'To: <sip:user@example.com>\r\n'
    b'From: <sip:other@example.net>;tag=2easdjfejw\r\n'
    b'CSeq: 9292394834772304023312 OPTIONS\r\n'
    b'Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r\r\n'
    b'Retry-After: 949302838503028349304023988\r\n'
    b'Warning: 1812 overture "In Progress"\r\n'
    b'Content-Length: 0\r\n'
    b'\r\n'
)

QUOTBAL = (
    b'INVITE sip:user@example.com SIP/2.0\r\n'
    b'To: "Mr. J. User <sip:j.user@example.com>\r\n'
    b'From: sip:caller@example.net;tag=93334\r\n'
    b'Max-Forwards: 10\r\n'
    b'Call-ID: quotbal.aksdj\r\n'
    b'Contact: <sip:caller@host59.example.net>\r\n'
    b'CSeq: 8 INVITE\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234\r\n'
    b'Content-Type: application/sdp\r\n'
    b'Content-Length: 152\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.15\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.15\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

LTGTRURI = (
    b'INVITE <sip:user@example.com> SIP/2.0\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: sip:caller@example.net;tag=39291\r\n'
    b'Max-Forwards: 23\r\n'
    b'Call-ID: ltgtruri.1@192.0.2.5\r\n'
    b'CSeq: 1 INVITE\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.5\r\n'
    b'Contact: <sip:caller@host5.example.net>\r\n'
    b'Content-Type: application/sdp\r\n'
    b'Content-Length: 159\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.5\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.5\r\n'
    b't=3149328700 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

LWSRURI = (
    b'INVITE sip:user@example.com; lr SIP/2.0\r\n'
    b'To: sip:user@example.com;tag=3xfe-9921883-z9f\r\n'
    b'From: sip:caller@example.net;tag=231413434\r\n'
    b'Max-Forwards: 5\r\n'
    b'Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423\r\n'
    b'CSeq: 2130706432 INVITE\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395\r\n'
    b'Contact: <sip:caller@host1.example.net>\r\n'
    b'Content-Type: application/sdp\r\n'
    b'Content-Length: 159\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.1\r\n'
    b't=3149328700 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

LWSSTART = (
    b'INVITE  sip:user@example.com  SIP/2.0\r\n'
    b'Max-Forwards: 8\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: sip:caller@example.net;tag=8814\r\n'
    b'Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com\r\n'
    b'CSeq: 1893884 INVITE\r\n'
    b'Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923\r\n'
    b'Contact: <sip:caller@host1.example.net>\r\n'
    b'Content-Type: application/sdp\r\n'
    b'Content-Length: 150\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.1\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

TRWS = (
    b'OPTIONS sip:remote-target@example.com SIP/2.0  \r\n'
    b'Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093\r\n'
    b'To: <sip:remote-target@example.com>\r\n'
    b'From: <sip:local-resource@example.com>;tag=329429089\r\n'
    b'Call-ID: trws.oicu34958239neffasdhr2345r\r\n'
    b'Accept: application/sdp\r\n'
    b'CSeq: 238923 OPTIONS\r\n'
    b'Max-Forwards: 70\r\n'
    b'Content-Length: 0\r\n'
    b'\r\n'
)

ESCRURI = (
    b'INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: sip:caller@example.net;tag=341518\r\n'
    b'Max-Forwards: 7\r\n'
    b'Contact: <sip:caller@host39923.example.net>\r\n'
    b'Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5\r\n'
    b'CSeq: 149209342 INVITE\r\n'
    b'Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw\r\n'
    b'Content-Type: application/sdp\r\n'
    b'Content-Length: 150\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.1\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

BADDATE = (
    b'INVITE sip:user@example.com SIP/2.0\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: sip:caller@example.net;tag=2234923\r\n'
    b'Max-Forwards: 70\r\n'
    b'Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234\r\n'
    b'CSeq: 1392934 INVITE\r\n'
    b'Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\n'
    b'Date: Fri, 01 Jan 2010 16:00:00 EST\r\n'
    b'Contact: <sip:caller@host5.example.net>\r\n'
    b'Content-Type: application/sdp\r\n'
    b'Content-Length: 150\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.5\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.5\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

REGBADCT = (
    b'REGISTER sip:example.com SIP/2.0\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: sip:user@example.com;tag=998332\r\n'
    b'Max-Forwards: 70\r\n'
    b'Call-ID: regbadct.k345asrl3fdbv@10.0.0.1\r\n'
    b'CSeq: 1 REGISTER\r\n'
    b'Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw\r\n'
    b'Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

BADASPEC = (
    b'OPTIONS sip:user@example.org SIP/2.0\r\n'
    b'Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234\r\n'
    b'Max-Forwards: 70\r\n'
    b'From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423\r\n'
    b'To: "Watson, Thomas" < sip:t.watson@example.org >\r\n'
    b'Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3\r\n'
    b'Accept: application/sdp\r\n'
    b'CSeq: 3923239 OPTIONS\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

BADDN = (
    b'OPTIONS sip:t.watson@example.org SIP/2.0\r\n'
    b'Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw\r\n'
    b'Max-Forwards:      70\r\n'
    b'From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43\r\n'
    b'To:      Watson, Thomas <sip:t.watson@example.org>\r\n'
    b'Call-ID: baddn.31415@c.example.com\r\n'
    b'Accept: application/sdp\r\n'
    b'CSeq:    3923239 OPTIONS\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

BADVERS = (
    b'OPTIONS sip:t.watson@example.org SIP/7.0\r\n'
    b'Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\r\n'
    b'Max-Forwards:     70\r\n'
    b'From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\r\n'
    b'To:      T. Watson <sip:t.watson@example.org>\r\n'
    b'Call-ID: badvers.31417@c.example.com\r\n'
    b'CSeq:    1 OPTIONS\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

MISMATCH01 = (
    b'OPTIONS sip:user@example.com SIP/2.0\r\n'
    b'To: sip:j.user@example.com\r\n'
    b'From: sip:caller@example.net;tag=34525\r\n'
    b'Max-Forwards: 6\r\n'
    b'Call-ID: mismatch01.dj0234sxdfl3\r\n'
    b'CSeq: 8 INVITE\r\n'
    b'Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

MISMATCH02 = (
    b'NEWMETHOD sip:user@example.com SIP/2.0\r\n'
    b'To: sip:j.user@example.com\r\n'
    b'From: sip:caller@example.net;tag=34525\r\n'
    b'Max-Forwards: 6\r\n'
    b'Call-ID: mismatch02.dj0234sxdfl3\r\n'
    b'CSeq: 8 INVITE\r\n'
    b'Contact: <sip:caller@host.example.net>\r\n'
    b'Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw\r\n'
    b'Content-Type: application/sdp\r\n'
    b'l: 138\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n'
    b'c=IN IP4 192.0.2.1\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

BIGCODE = (
    b'SIP/2.0 4294967301 better not break the receiver\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\n'
    b'Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i\r\n'
    b'CSeq: 353494 INVITE\r\n'
    b'From: <sip:user@example.com>;tag=39ansfi3\r\n'
    b'To: <sip:user@example.edu>;tag=902jndnke3\r\n'
    b'Content-Length: 0\r\n'
    b'Contact: <sip:user@host105.example.com>\r\n'
    b'\r\n'
)

BADBRANCH = (
    b'OPTIONS sip:user@example.com SIP/2.0\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: sip:caller@example.org;tag=33242\r\n'
    b'Max-Forwards: 3\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\r\n'
    b'Accept: application/sdp\r\n'
    b'Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n\r\n'
    b'CSeq: 8 OPTIONS\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

INSUF = (
    b'INVITE sip:user@example.com SIP/2.0\r\n'
    b'CSeq: 193942 INVITE\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\n'
    b'Content-Type: application/sdp\r\n'
    b'l: 152\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.95\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.95\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
)

UNKSCM = (
    b'OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: sip:caller@example.net;tag=384\r\n'
    b'Max-Forwards: 3\r\n'
    b'Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34\r\n'
    b'CSeq: 3923423 OPTIONS\r\n'
    b'Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\r\n'
    b'Content-Length: 0\r\n'
    b'\r\n'
)

NOVELSC = (
    b'OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: sip:caller@example.net;tag=384\r\n'
    b'Max-Forwards: 3\r\n'
    b'Call-ID: novelsc.asdfasser0q239nwsdfasdkl34\r\n'
    b'CSeq: 3923423 OPTIONS\r\n'
    b'Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\r\n'
    b'Content-Length: 0\r\n'
    b'\r\n'
)

UNKSM2 = (
    b'REGISTER sip:example.com SIP/2.0\r\n'
    b'To: isbn:2983792873\r\n'
    b'From: <http://www.example.com>;tag=3234233\r\n'
    b'Call-ID: unksm2.daksdj@hyphenated-host.example.com\r\n'
    b'CSeq: 234902 REGISTER\r\n'
    b'Max-Forwards: 70\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw\r\n'
    b'Contact: <name:John_Smith>\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

MULTI01 = (
    b'INVITE sip:user@company.com SIP/2.0\r\n'
    b'Contact: <sip:caller@host25.example.net>\r\n'
    b'Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw\r\n'
    b'Max-Forwards: 70\r\n'
    b'CSeq: 5 INVITE\r\n'
    b'Call-ID: multi01.98asdh@192.0.2.1\r\n'
    b'CSeq: 59 INVITE\r\n'
    b'Call-ID: multi01.98asdh@192.0.2.2\r\n'
    b'From: sip:caller@example.com;tag=3413415\r\n'
    b'To: sip:user@example.com\r\n'
    b'To: sip:other@example.net\r\n'
    b'From: sip:caller@example.net;tag=2923420123\r\n'
    b'Content-Type: application/sdp\r\n'
    b'l: 154\r\n'
    b'Contact: <sip:caller@host36.example.net>\r\n'
    b'Max-Forwards: 5\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.25\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.25\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0 12\r\n'
    b'm=video 3227 RTP/AVP 31\r\n'
    b'a=rtpmap:31 LPC\r\n'
    b'\r\n'
)

MCL01 = (
    b'OPTIONS sip:user@example.com SIP/2.0\r\n'
    b'Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: sip:other@example.net;tag=3923942\r\n'
    b'Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf\r\n'
    b'CSeq: 15932 OPTIONS\r\n'
    b'Content-Length: 13\r\n'
    b'Max-Forwards: 60\r\n'
    b'Content-Length: 5\r\n'
    b'Content-Type: text/plain\r\n'
    b'\r\n'
    b"There's no way to know how many octets are supposed to be here.\r\n"
)

REGESCRT = (
    b'REGISTER sip:example.com SIP/2.0\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: sip:user@example.com;tag=8\r\n'
    b'Max-Forwards: 70\r\n'
    b'Call-ID: regescrt.k345asrl3fdbv@192.0.2.1\r\n'
    b'CSeq: 14398234 REGISTER\r\n'
    b'Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\n'
    b'M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>\r\n'
    b'L:0\r\n'
    b'\r\n'
)

CPARAM01 = (
    b'REGISTER sip:example.com SIP/2.0\r\n'
    b'Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\r\n'
    b'Max-Forwards: 70\r\n'
    b'From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe\r\n'
    b'To: sip:watson@example.com\r\n'
    b'Call-ID: cparam01.70710@saturn.example.com\r\n'
    b'CSeq: 2 REGISTER\r\n'
    b'Contact: sip:+19725552222@gw1.example.net;unknownparam\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

CPARAM02 = (
    b'REGISTER sip:example.com SIP/2.0\r\n'
    b'Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\r\n'
    b'Max-Forwards: 70\r\n'
    b'From: sip:watson@example.com;tag=838293\r\n'
    b'To: sip:watson@example.com\r\n'
    b'Call-ID: cparam02.70710@saturn.example.com\r\n'
    b'CSeq: 3 REGISTER\r\n'
    b'Contact: <sip:+19725552222@gw1.example.net;unknownparam>\r\n'
    b'l: 0\r\n'
    b'\r\n'
)

ZEROMF = (
    b'OPTIONS sip:user@example.com SIP/2.0\r\n'
    b'To: sip:user@example.com\r\n'
    b'From: sip:caller@example.net;tag=3ghsd41\r\n'
    b'Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas\r\n'
    b'CSeq: 39234321 OPTIONS\r\n'
    b'Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i\r\n'
    b'Max-Forwards: 0\r\n'
    b'Content-Length: 0\r\n'
    b'\r\n'
)

INV2543 = (
    b'INVITE sip:UserB@example.com SIP/2.0\r\n'
    b'Via: SIP/2.0/UDP iftgw.example.com\r\n'
    b'From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n'
    b'Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>\r\n'
    b'To: sip:+16505552222@ss1.example.net;user=phone\r\n'
    b'Call-ID: inv2543.1717@ift.client.example.com\r\n'
    b'CSeq: 56 INVITE\r\n'
    b'Content-Type: application/sdp\r\n'
    b'\r\n'
    b'v=0\r\n'
    b'o=mhandley 29739 7272939 IN IP4 192.0.2.5\r\n'
    b's=-\r\n'
    b'c=IN IP4 192.0.2.5\r\n'
    b't=0 0\r\n'
    b'm=audio 49217 RTP/AVP 0\r\n'
)
# fmt: on


def _req(data: bytes) -> Request:
    msg = parse_message(data)
    assert isinstance(msg, Request)
    # Whatever we accept must survive a serialize/parse round trip.
    again = parse_message(msg.to_bytes())
    assert again.to_bytes() == msg.to_bytes()
    return msg


def _reject(data: bytes, status: int = 400) -> SIPParseError:
    with pytest.raises(SIPParseError) as info:
        parse_message(data)
    assert info.value.status == status
    return info.value


# -- 3.1.1 valid messages -----------------------------------------------------------------------------------


def test_3_1_1_1_wsinv() -> None:
    msg = _req(WSINV)
    assert msg.method == "INVITE"
    assert msg.ruri.user == "vivekg" and msg.ruri.host == "chair-dnrc.example.com"
    assert msg.ruri.get_param("unknownparam") == ""
    assert msg.to.uri.user == "vivekg" and msg.to.tag == "1918181833n"
    assert msg.from_.display_text == 'J Rosenberg \\"'
    assert msg.from_.tag == "98asjd8"
    assert msg.max_forwards == 68
    assert (msg.cseq.number, msg.cseq.method) == (9, "INVITE")
    assert msg.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert [(v.transport, v.host, v.branch) for v in msg.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert msg.get_header("s") == "" and msg.get_header("Subject") == ""
    assert msg.get_header("newfangledheader") == "newfangled value continued newfangled value"
    assert msg.get_header("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    route = msg.routes[0]
    assert route.uri.host == "services.example.com"
    assert route.uri.get_param("unknownwith") == "value" and route.uri.get_param("unknown-no-value") == ""
    contact = msg.contacts[0]
    assert contact.display_text == 'Quoted string ""'
    assert contact.get_param("newparam") == "newvalue"
    assert contact.get_param("secondparam") == "" and contact.get_param("q") == "0.33"
    assert msg.content_type == "application/sdp" and len(msg.body) == 150
    assert msg.to_bytes() == WSINV


def test_3_1_1_2_intmeth() -> None:
    msg = _req(INTMETH)
    assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert msg.ruri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert msg.ruri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert msg.ruri.host == "example.com"
    assert msg.via.branch == "z9hG4bK-.!%66*_+`'~"
    assert msg.to.display_text == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert msg.to.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert msg.from_.display == "token1~` token2'+_ token3*%!.-"
    assert (
        msg.from_.get_param("fromParam''~+*_!.-%")
        == '"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439"'
    )
    assert msg.from_.tag == "_token~1'+`*%!-."
    assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert msg.cseq.method == msg.method
    assert msg.get_header("extensionHeader-!.%*+_`'~") == "\ufeff\u5927\u505c\u96fb"
    assert msg.to_bytes() == INTMETH


def test_3_1_1_3_esc01() -> None:
    msg = _req(ESC01)
    assert msg.ruri.user == "sips%3Auser%40example.com" and msg.ruri.host == "example.net"
    assert unescape(msg.ruri.user) == "sips:user@example.com"
    assert unescape(msg.to.uri.user) == "user"
    assert unescape(msg.from_.uri.user) == "I have spaces"
    uri = msg.contacts[0].uri
    assert unescape(uri.user) == "caller"
    assert [(unescape(k), None if v is None else unescape(v)) for k, v in uri.params] == [
        ("lr", None),
        ("name", "value%41"),
    ]
    assert msg.content_type == "application/sdp"


def test_3_1_1_4_escnull() -> None:
    msg = _req(ESCNULL)
    assert msg.method == "REGISTER"
    assert unescape(msg.to.uri.user) == "null-\x00-null"
    users = [unescape(c.uri.user) for c in msg.contacts]
    assert users == ["\x00", "\x00\x00"]
    assert msg.content_length == 0 and msg.body == b""


def test_3_1_1_5_esc02() -> None:
    msg = _req(ESC02)
    assert msg.method == "RE%47IST%45R" and msg.method != "REGISTER"
    assert msg.to.display == '"%Z%45"' and msg.from_.display == '"%Z%45"'
    assert [c.uri.host for c in msg.contacts] == ["host1.example.com", "host3.example.com"]
    assert msg.get_header("C%6Fntact") == "<sip:alias2@host2.example.com>"
    assert msg.via.branch == "z9hG4bK209%fzsnel234"


def test_3_1_1_6_lwsdisp() -> None:
    msg = _req(LWSDISP)
    assert msg.from_.display == "caller" and msg.from_.uri.user == "caller" and msg.from_.tag == "323"


def test_3_1_1_7_longreq() -> None:
    msg = _req(LONGREQ)
    assert msg.to.display_text.startswith("I have a user name of extremeextreme")
    assert msg.to.uri.port == 6000
    assert msg.to.uri.has_param(
        "verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongParameterNameWithNoValue"
    )
    assert msg.from_.tag.startswith("12982982982982982982") and len(msg.from_.tag) > 150
    assert len(msg.vias) == 34
    assert [v.host for v in msg.vias[:3]] == ["sip33.example.com", "sip32.example.com", "sip31.example.com"]
    assert msg.vias[-1].received == "192.0.2.5"
    assert msg.vias[-1].branch.startswith("verylonglong")
    assert msg.call_id.startswith("longreq.onereally")
    assert len(msg.body) == 150


def test_3_1_1_8_dblreq() -> None:
    msg = _req(DBLREQ)
    assert msg.method == "REGISTER"
    assert msg.body == b""
    # The INVITE octets after the REGISTER are noise (RFC 3261 18.3) and must not be forwarded.
    assert b"INVITE" not in msg.to_bytes()


def test_3_1_1_9_semiuri() -> None:
    msg = _req(SEMIURI)
    assert msg.ruri.user == "user;par=u%40example.net"
    assert msg.ruri.host == "example.com" and msg.ruri.params == []
    assert msg.get_values("Accept") == [
        "application/sdp",
        "application/pkcs7-mime",
        "multipart/mixed",
        "multipart/signed",
        "message/sip",
        "message/sipfrag",
    ]


def test_3_1_1_10_transports() -> None:
    msg = _req(TRANSPORTS)
    assert [v.transport for v in msg.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert msg.call_id == "transports.kijh4akdnaqjkwendsasfdj"


def test_3_1_1_11_mpart01() -> None:
    msg = _req(MPART01)
    assert len(msg.body) == 553 and b"\x00" in msg.body
    assert msg.body.endswith(b"--7a9cbec02ceef655--\r\n")
    assert msg.content_type == "multipart/mixed;boundary=7a9cbec02ceef655"
    assert msg.to_bytes() == MPART01


def test_3_1_1_12_unreason() -> None:
    msg = parse_message(UNREASON)
    assert isinstance(msg, Response)
    assert msg.status == 200
    assert (
        msg.reason
        == "= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e\u0441\u0442\u043e\u0435"
    )
    assert msg.to.tag == "2229" and len(msg.body) == 154
    assert msg.to_bytes() == UNREASON
    msg.set_header("X-Edited", "1")
    assert msg.to_bytes().split(b"\r\n", 1)[0] == UNREASON.split(b"\r\n", 1)[0]


def test_3_1_1_13_noreason() -> None:
    msg = parse_message(NOREASON)
    assert isinstance(msg, Response)
    assert msg.status == 100 and msg.reason == ""
    assert msg.to_bytes() == NOREASON


# -- 3.1.2 invalid messages ---------------------------------------------------------------------------------


def test_3_1_2_1_badinv01() -> None:
    _reject(BADINV01)


def test_3_1_2_2_clerr() -> None:
    err = _reject(CLERR)
    assert "Content-Length" in str(err)


def test_3_1_2_3_ncl() -> None:
    err = _reject(NCL)
    assert "Content-Length" in str(err)


def test_3_1_2_4_scalar02() -> None:
    err = _reject(SCALAR02)
    assert "CSeq" in str(err)


def test_3_1_2_5_scalarlg() -> None:
    # A response cannot be answered; the error tells the caller to drop it.
    _reject(SCALARLG)


def test_3_1_2_6_quotbal() -> None:
    _reject(QUOTBAL)


def test_3_1_2_7_ltgtruri() -> None:
    _reject(LTGTRURI)


def test_3_1_2_8_lwsruri() -> None:
    _reject(LWSRURI)


def test_3_1_2_9_lwsstart() -> None:
    _reject(LWSSTART)


def test_3_1_2_10_trws() -> None:
    _reject(TRWS)


def test_3_1_2_11_escruri() -> None:
    err = _reject(ESCRURI)
    assert "headers" in str(err)


def test_3_1_2_12_baddate() -> None:
    # Tolerance the RFC allows: the Date header is not interpreted, so the request is processed.
    msg = _req(BADDATE)
    assert msg.get_header("Date") == "Fri, 01 Jan 2010 16:00:00 EST"
    assert msg.to_bytes() == BADDATE


def test_3_1_2_13_regbadct() -> None:
    # Contact is parsed when read (lazy parsing); a registrar reading it gets the 400.
    msg = parse_message(REGBADCT)
    with pytest.raises(SIPParseError) as info:
        msg.contacts  # noqa: B018
    assert info.value.status == 400


def test_3_1_2_14_badaspec() -> None:
    _reject(BADASPEC)


def test_3_1_2_15_baddn() -> None:
    err = _reject(BADDN)
    assert "quoted" in str(err)


def test_3_1_2_16_badvers() -> None:
    err = _reject(BADVERS, 505)
    assert err.reason == "Version Not Supported"


def test_3_1_2_17_mismatch01() -> None:
    err = _reject(MISMATCH01)
    assert "CSeq method" in str(err)


def test_3_1_2_18_mismatch02() -> None:
    err = _reject(MISMATCH02)
    assert "CSeq method" in str(err)


def test_3_1_2_19_bigcode() -> None:
    _reject(BIGCODE)


# -- 3.2-3.4: the cases that are decided by the parser --------------------------------------------------------


def test_3_2_1_badbranch() -> None:
    # Syntactically fine; the transaction layer decides what a bare "z9hG4bK" branch means.
    msg = _req(BADBRANCH)
    assert msg.via.branch == "z9hG4bK"


def test_3_3_1_insuf() -> None:
    err = _reject(INSUF)
    assert "missing mandatory header" in str(err)


def test_3_3_2_unkscm() -> None:
    # Parsed; answering 416 Unsupported URI Scheme is the application's business.
    msg = _req(UNKSCM)
    assert msg.ruri.scheme == "nobodyknowsthisscheme"
    assert msg.ruri_raw == "nobodyKnowsThisScheme:totallyopaquecontent"


def test_3_3_3_novelsc() -> None:
    msg = _req(NOVELSC)
    assert msg.ruri.scheme == "soap.beep" and msg.ruri.opaque == "//192.0.2.103:3002"


def test_3_3_4_unksm2() -> None:
    msg = _req(UNKSM2)
    assert msg.to.uri.scheme == "isbn" and msg.from_.uri.scheme == "http"
    assert msg.contacts[0].uri.scheme == "name"


def test_3_3_8_multi01() -> None:
    err = _reject(MULTI01)
    assert "more than one" in str(err)


def test_3_3_9_mcl01() -> None:
    err = _reject(MCL01)
    assert "more than one Content-Length" in str(err)


def test_3_3_11_zeromf() -> None:
    msg = _req(ZEROMF)
    assert msg.max_forwards == 0


def test_3_3_12_cparam01() -> None:
    # addr-spec form: the param after the URI is a Contact header param, not a URI param.
    contact = _req(CPARAM01).contacts[0]
    assert contact.get_param("unknownparam") == "" and contact.uri.params == []


def test_3_3_13_cparam02() -> None:
    contact = _req(CPARAM02).contacts[0]
    assert contact.uri.get_param("unknownparam") == "" and contact.params == []


def test_3_3_14_regescrt() -> None:
    contact = _req(REGESCRT).contacts[0]
    assert contact.uri.headers == "Route=%3Csip:sip.example.com%3E"
    assert unescape(contact.uri.headers) == "Route=<sip:sip.example.com>"


def test_3_4_1_inv2543() -> None:
    # RFC 2543 request: no Max-Forwards, no branch, no Content-Length (UDP: the body is the rest).
    msg = _req(INV2543)
    assert msg.max_forwards is None and msg.via.branch is None
    assert msg.body.startswith(b"v=0") and msg.record_routes[0].uri.get_param("maddr") == "ss1.example.com"
