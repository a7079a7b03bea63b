from jeshstack.cli import main

raise SystemExit(main())
