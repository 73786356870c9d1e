import { defineInsTable, type InsTable } from '../dispatch.js';

export const AUTHENTICATION_COMMANDS: InsTable = defineInsTable();
