cd /tmp/prof
sipp -sf /work/main/tools/sipp/uas_rr.xml -i 127.0.0.1 -p 41001 -nostdin >/dev/null 2>&1 &
UAS=$!
python -m pysips run p.cfg 2>srv.log &
SRV=$!
sleep 2
py-spy record -p $SRV -d 6 -r 250 -f raw -o prof.txt >/dev/null 2>&1 &
timeout 60 sipp 127.0.0.1:41000 -sf /work/main/tools/sipp/uac_rr.xml -i 127.0.0.1 -p 41002 -m 5000 -r 700 -d 1000 -nostdin -timeout 40s -timeout_error >/dev/null 2>&1
echo sipp $?
sleep 1
kill $SRV $UAS
