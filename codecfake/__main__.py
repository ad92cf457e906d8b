from codecfake.cli import main

raise SystemExit(main())
