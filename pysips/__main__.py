from pysips.cli import main

raise SystemExit(main())
