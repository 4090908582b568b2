// Examples share it. Writes a one-file zip (deflated) without a zip tool: node zip.cjs <file> <name-in-zip> <out.zip>
/* global require, process, Buffer */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain Node script */
const { deflateRawSync, crc32 } = require('node:zlib');
const { readFileSync, writeFileSync } = require('node:fs');

const [file, entry, out] = process.argv.slice(2);
const data = readFileSync(file);
const name = Buffer.from(entry);
const raw = deflateRawSync(data);
const crc = crc32(data);
const local = Buffer.alloc(30);
local.writeUInt32LE(0x04034b50, 0);
local.writeUInt16LE(20, 4);
local.writeUInt16LE(8, 8);
local.writeUInt32LE(crc, 14);
local.writeUInt32LE(raw.length, 18);
local.writeUInt32LE(data.length, 22);
local.writeUInt16LE(name.length, 26);
const central = Buffer.alloc(46);
central.writeUInt32LE(0x02014b50, 0);
central.writeUInt16LE(20, 4);
central.writeUInt16LE(20, 6);
central.writeUInt16LE(8, 10);
central.writeUInt32LE(crc, 16);
central.writeUInt32LE(raw.length, 20);
central.writeUInt32LE(data.length, 24);
central.writeUInt16LE(name.length, 28);
const end = Buffer.alloc(22);
end.writeUInt32LE(0x06054b50, 0);
end.writeUInt16LE(1, 8);
end.writeUInt16LE(1, 10);
end.writeUInt32LE(46 + name.length, 12);
end.writeUInt32LE(30 + name.length + raw.length, 16);
writeFileSync(out, Buffer.concat([local, name, raw, central, name, end]));
