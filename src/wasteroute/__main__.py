from wasteroute.cli import main

raise SystemExit(main())
