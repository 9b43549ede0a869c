package Manta::Debian;

# The Debian layout configuration of examples/debian in a test's
# directory, as example_debian.t and package.t run it: conf.d/manta.conf
# (inside "http") and sites-available/manta (a server, linked from
# sites-enabled) with the credentials path, the upstream, the listen port
# and the log paths substituted for the test's ones (the mock speaks plain
# HTTP, not TLS), an nginx.conf that loads the module by the line given
# and includes both, and creds.json with the JSON text given.

use warnings;
use strict;

use FindBin;

our $EXAMPLES = "$FindBin::Bin/../examples/debian";

sub layout {
    my ($t, $load, $creds) = @_;

    my $dir = $t->dir();

    mkdir "$dir/$_" for qw/conf.d sites-available sites-enabled/;

    my $http = $t->read_file("$EXAMPLES/conf.d/manta.conf") // '';
    $http =~ s{/etc/nginx/manta/credentials\.json}{$dir/creds.json}g;
    $http =~ s{server\s+mantago\.cc:443;}{server 127.0.0.1:%%PORT_MOCK%%;};
    $t->write_file_expand('conf.d/manta.conf', $http);

    my $site = $t->read_file("$EXAMPLES/sites-available/manta") // '';
    $site =~ s{listen\s+127\.0\.0\.1:8080;}{listen 127.0.0.1:%%PORT_8080%%;};
    $site =~ s{/var/log/nginx/}{$dir/}g;
    $site =~ s{https://manta_api}{http://manta_api};
    $t->write_file_expand('sites-available/manta', $site);
    symlink("$dir/sites-available/manta", "$dir/sites-enabled/manta");

    $t->write_config(<<"EOF");

$load
%%GLOBALS%%

events {
}

http {
    %%HTTP_GLOBALS%%

    include  $dir/conf.d/*.conf;
    include  $dir/sites-enabled/*;
}


EOF

    $t->write_file('creds.json', $creds, 0600);
    $t->mock_responder(undef);

    return;
}

1;
