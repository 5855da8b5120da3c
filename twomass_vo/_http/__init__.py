# Licensed under a 3-clause BSD style license - see LICENSE
"""HTTP underneath every service and file: sessions, fetches, deadlines, retries.

Private to the package. It imports nothing of `twomass_vo` but
`twomass_vo.exceptions`, `twomass_vo.version` and the settings
``twomass_vo.conf``.

- `~twomass_vo._http.fetch`: one file, fetched with retries that respect the
  server; `~twomass_vo._http.retry_policy`: how often and how long;
  `~twomass_vo._http.download_session`: the connections of each download
  thread;
- `~twomass_vo._http.vo_session`: the session of the VO archives (bounded
  in-memory answers);
- `~twomass_vo._http.deadline`: the overall deadline of a request;
- `~twomass_vo._http.network_errors`: network failures in words.
"""
