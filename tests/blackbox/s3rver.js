// Starts s3rver (an S3-compatible server that checks SigV4 signatures, also of
// presigned URLs) for agentdl's black-box tests; fileserver.py's start_s3rver runs it.
//
//   node s3rver.js PACKAGE_DIR DATA_DIR BUCKET ACCESS_KEY_ID
//
// PACKAGE_DIR is the installed @20minutes/s3rver (scripts/npm_tools.sh puts it in
// build-deps/s3rver/node_modules/@20minutes/s3rver). The secret access key comes
// from the environment variable S3RVER_SECRET_ACCESS_KEY. The server listens on
// 127.0.0.1 on an ephemeral port, keeps its objects under DATA_DIR (an object is
// the file DATA_DIR/BUCKET/KEY._S3rver_object), creates BUCKET, accepts only the
// given key pair, and prints "port N" on stdout once it listens. SIGTERM and
// SIGINT close it and exit 0.
//
// The published package has no bin script, hence this wrapper.
'use strict';

const path = require('path');

function main(argv) {
  if (argv.length !== 4) {
    process.stderr.write('usage: node s3rver.js PACKAGE_DIR DATA_DIR BUCKET ACCESS_KEY_ID\n');
    process.exit(2);
  }
  const [packageDir, dataDir, bucket, accessKeyId] = argv;
  const secretAccessKey = process.env.S3RVER_SECRET_ACCESS_KEY;
  if (!secretAccessKey) {
    process.stderr.write('s3rver.js: S3RVER_SECRET_ACCESS_KEY is not set\n');
    process.exit(2);
  }
  const pkg = path.resolve(packageDir);
  const S3rver = require(pkg);
  // The same module instance the server checks keys against.
  const { DUMMY_ACCOUNT } = require(path.join(pkg, 'lib', 'models', 'account'));
  DUMMY_ACCOUNT.revokeAccessKey('S3RVER'); // only the test's key pair is valid
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);

  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: path.resolve(dataDir),
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  server.run().then(
    (address) => {
      process.stdout.write(`port ${address.port}\n`);
      const stop = () => {
        const closed = server.close();
        server.httpServer.closeAllConnections(); // keep-alive connections would hold it open
        closed.then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    },
    (err) => {
      process.stderr.write(`s3rver.js: ${err.stack || err}\n`);
      process.exit(1);
    },
  );
}

main(process.argv.slice(2));
